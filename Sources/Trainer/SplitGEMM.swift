import Denoiser

/// A GEMM of the backward pass cut into one part per core, each a single-threaded OpenBLAS call.
///
/// The trainer runs OpenBLAS at one thread during a step (`Trainer.run`): the forward convolutions then use
/// worker mode (transforms, im2col and GEMM of a chunk on one core), and OpenBLAS's own threads no longer
/// spin in `sched_yield` between calls while the element-wise passes need the cores. Measured on the paper
/// model, batch 4, loaded machine: OpenBLAS at one thread cut the step from 2.70 / 2.79 s (1.87 / 1.48
/// CPU-s) to 1.89 / 2.20 s (1.28 / 1.32 CPU-s) even before the GEMMs below were split. The GEMMs that are not
/// inside a worker-mode op (weight and input gradients of the im2col, 1×1 and transposed convolutions) come
/// here so that they still use both cores.
enum SplitGEMM {
    /// Which dimension of C the parts divide.
    enum Split { case rows, columns }

    /// `C = α·op(A)·op(B) + β·C` like `GEMM.multiply`, split over `threads` workers along `split` when
    /// OpenBLAS is single-threaded and the product is big enough to pay for the dispatch.
    static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float = 0,
        split: Split, threads: Int
    ) {
        let extent = split == .rows ? m : n
        // Parts are multiples of 16 rows/columns (the sgemm kernels' register-tile widths divide 16).
        let parts = min(max(threads, 1), extent / 16)
        guard parts > 1, GEMM.threads == 1, m &* n &* k >= 1 << 20 else {
            GEMM.multiply(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb, transposeB: transposeB,
                          c: c, ldc: ldc, beta: beta)
            return
        }
        let step = ((extent + parts - 1) / parts + 15) & ~15
        Parallel.forWorkers(parts) { w in
            let lo = min(w &* step, extent), hi = min(lo &+ step, extent)
            guard lo < hi else { return }
            switch split {
            case .rows:
                // rows of op(A): A is m × k (offset by rows) or, transposed, k × m (offset by columns)
                GEMM.multiply(m: hi &- lo, n: n, k: k, a: transposeA ? a + lo : a + lo &* lda, lda: lda, transposeA: transposeA,
                              b: b, ldb: ldb, transposeB: transposeB, c: c + lo &* ldc, ldc: ldc, beta: beta)
            case .columns:
                // columns of op(B): B is k × n (offset by columns) or, transposed, n × k (offset by rows)
                GEMM.multiply(m: m, n: hi &- lo, k: k, a: a, lda: lda, transposeA: transposeA,
                              b: transposeB ? b + lo &* ldb : b + lo, ldb: ldb, transposeB: transposeB,
                              c: c + lo, ldc: ldc, beta: beta)
            }
        }
    }
}
