/// The batched products `M[ξ] = V[ξ] · U[ξ]` of the Winograd path, with our own register-blocked kernel
/// instead of OpenBLAS.
///
/// Why: through `cblas_sgemm` every one of the T² GEMMs of every tile block re-packs both operands
/// (profile of the F(4×4) path at 256²: sgemm kernel 57 %, packing 17 %, zeroing C 2 %). Here U[ξ] is
/// packed once per kernel into 16-column panels (`WinogradKernel.panels`), and V[ξ] is read where the input
/// transform wrote it (row-major `[tiles, Cin]`, 6 tiles per micro-tile, broadcast one float at a time),
/// so nothing is copied per block. Measured stand-alone on the paper model's shapes (126 tiles × Cin · Cin
/// × Cout, 96…384 channels, one core): 111–115 GFLOP/s vs OpenBLAS (Haswell kernels, packing included) 96–99.
enum WinogradGEMM {
    /// Tiles per micro-tile: 6 rows × 16 columns = 12 AVX2 accumulators, + 2 B vectors + 1 broadcast
    /// = 15 of the 16 ymm registers.
    static let rowsPerMicroTile = 6
    /// Output channels per panel (two 8-float vectors).
    static let panelWidth = 16

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// `C[6 × 16] = A[6 × k] · P[k × 16]`: A row-major with leading dimension `lda`, P one packed panel
    /// (`[k][16]`), C row-major with leading dimension `ldc`.
    @inline(__always)
    static func microTile(k: Int, a a0: UnsafePointer<Float>, lda: Int, panel: UnsafePointer<Float>,
                          c: UnsafeMutablePointer<Float>, ldc: Int) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        let a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda
        var bp = panel
        for i in 0..<k {
            let b0 = load(bp), b1 = load(bp + 8)
            bp += 16
            var x = SIMD8<Float>(repeating: a0[i]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a1[i]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a2[i]); c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a3[i]); c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a4[i]); c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a5[i]); c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
        }
        store(c00, c); store(c01, c + 8)
        var r = c + ldc; store(c10, r); store(c11, r + 8)
        r += ldc; store(c20, r); store(c21, r + 8)
        r += ldc; store(c30, r); store(c31, r + 8)
        r += ldc; store(c40, r); store(c41, r + 8)
        r += ldc; store(c50, r); store(c51, r + 8)
    }

    /// `C[rows × 16·panelCount] = A[rows × k] · U`, U given as `panelCount` packed panels of `k × 16`
    /// (consecutive, `k·16` floats apart). `rows` must be a multiple of 6 (callers pad A and C);
    /// `ldc` ≥ 16·panelCount.
    ///
    /// Panel-outer order: one panel (k·64 bytes, ≤ 24 KiB for k = 384) stays in L1 while the micro-tiles
    /// sweep A, which stays in L2 across the panels.
    static func multiply(rows: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                         panels: UnsafePointer<Float>, panelCount: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(rows % rowsPerMicroTile == 0, "Winograd GEMM rows must be padded to a multiple of 6")
        let panelStride = k &* panelWidth
        for p in 0..<panelCount {
            let panel = panels + p &* panelStride
            var i = 0
            while i < rows {
                let offset: Int = i &* ldc &+ p &* panelWidth
                microTile(k: k, a: a + i &* lda, lda: lda, panel: panel, c: c + offset, ldc: ldc)
                i &+= rowsPerMicroTile
            }
        }
    }
}
