import COpenBLAS

/// Row-major single-precision GEMM through OpenBLAS: `C = alpha·op(A)·op(B) + beta·C`.
///
/// Every convolution of the engine ends here (im2col · kernel, 1×1 as plain GEMM, transposed conv), so this
/// is the one seam to swap the BLAS or to count FLOPs.
public enum GEMM {
    @inline(__always)
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // BLAS leaves C·beta; make the k = 0 case explicit instead of relying on that.
            for i in 0..<m { for j in 0..<n { c[i &* ldc &+ j] = beta == 0 ? 0 : c[i &* ldc &+ j] * beta } }
            return
        }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// OpenBLAS's current thread count (process-wide).
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads OpenBLAS uses for every later GEMM in this process.
    public static func setThreads(_ threads: Int) {
        openblas_set_num_threads(Int32(max(threads, 1)))
    }
}
