/// A constant `[K × N]` GEMM operand (a layer's weights) packed once into the 16-column panels that
/// `WinogradGEMM.microTile` reads (`[N/16][K][16]`, zero columns past N).
///
/// Why: the engine's non-Winograd GEMMs (1×1 projections, 2×2/2 downsampling after im2col, transposed
/// convolutions) were ≈ 25 % of a 256² pass; through `cblas_sgemm` every chunk re-packs the im2col/input
/// rows and zeroes C first (oncopy 3.4 %, memset 0.8 % of the profile). With the weights packed here and A
/// read in place, a GEMM is only the register-blocked micro-tiles.
public final class PackedMatrix: @unchecked Sendable {
    // @unchecked: immutable after init.
    /// K: rows of the logical matrix (the reduction length).
    public let rows: Int
    /// N: columns of the logical matrix (output channels).
    public let columns: Int
    let paddedColumns: Int
    let storage: AlignedBuffer

    /// - Parameters:
    ///   - source: row-major `[rows, columns]`, or with `transposed` row-major `[columns, rows]`.
    public init(rows: Int, columns: Int, source: UnsafePointer<Float>, transposed: Bool = false) {
        precondition(rows > 0 && columns > 0, "packed matrix must be non-empty")
        self.rows = rows
        self.columns = columns
        let width = WinogradGEMM.panelWidth
        let padded = (columns + width - 1) / width * width
        paddedColumns = padded
        let storage = AlignedBuffer(count: rows * padded)
        self.storage = storage
        storage.pointer.update(repeating: 0, count: storage.count)
        for p in 0..<(padded / width) {
            let panel = storage.pointer + p * rows * width
            for j in 0..<min(width, columns - p * width) {
                let column = p * width + j
                for r in 0..<rows {
                    panel[r * width + j] = transposed ? source[column * rows + r] : source[r * columns + column]
                }
            }
        }
    }

    var panelCount: Int { paddedColumns / WinogradGEMM.panelWidth }
    var panels: UnsafePointer<Float> { UnsafePointer(storage.pointer) }
}

enum PackedGEMM {
    /// Rows per block: a block of A (≤ 120 × 768 floats for the deepest downsampling) stays in L2 while the
    /// panels (one in L1 at a time) sweep it; the caller's epilogue then runs on cache-hot C rows.
    static let rowBlock = 120

    /// `C[rows × N] = A[rows × K] · B` (C overwritten), any `rows`; A row-major with leading dimension `lda`,
    /// C with `ldc` ≥ N. Partial micro-tiles (the last < 6 rows, the last < 16 columns) go through a
    /// zero-padded copy of A's rows and a temporary C tile, so nothing outside A or C is touched.
    static func multiply(rows: Int, a: UnsafePointer<Float>, lda: Int, b: PackedMatrix,
                         c: UnsafeMutablePointer<Float>, ldc: Int) {
        let k = b.rows, n = b.columns, width = WinogradGEMM.panelWidth
        let mr = WinogradGEMM.rowsPerMicroTile
        let fullRows = rows / mr &* mr
        let fullPanels = n / width
        let panelStride = k &* width
        if fullPanels > 0 {
            var start = 0
            while start < fullRows {
                let count = min(rowBlock, fullRows &- start)
                WinogradGEMM.multiply(rows: count, k: k, a: a + start &* lda, lda: lda, panels: b.panels,
                                      panelCount: fullPanels, c: c + start &* ldc, ldc: ldc)
                start &+= count
            }
        }
        let partialColumns = n &- fullPanels &* width
        let partialRows = rows &- fullRows
        if partialColumns == 0 && partialRows == 0 { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: mr * width + mr * k) { temp in
            let tile = temp.baseAddress!, rowCopy = tile + mr * width
            /// One micro-tile into `tile`, then its `validRows × validColumns` corner into C.
            func edge(row i: Int, a rowsA: UnsafePointer<Float>, ldaA: Int, panel p: Int, validRows: Int, validColumns: Int) {
                WinogradGEMM.microTile(k: k, a: rowsA, lda: ldaA, panel: b.panels + p &* panelStride, c: tile, ldc: width)
                for r in 0..<validRows {
                    let offset: Int = (i &+ r) &* ldc &+ p &* width
                    (c + offset).update(from: tile + r &* width, count: validColumns)
                }
            }
            // last column panel (N not a multiple of 16) for the full row groups
            if partialColumns > 0 {
                var i = 0
                while i < fullRows {
                    edge(row: i, a: a + i &* lda, ldaA: lda, panel: fullPanels, validRows: mr, validColumns: partialColumns)
                    i &+= mr
                }
            }
            // last row group (rows not a multiple of 6): copy its rows, zero-padded, and run every panel
            if partialRows > 0 {
                rowCopy.update(repeating: 0, count: mr &* k)
                for r in 0..<partialRows { (rowCopy + r &* k).update(from: a + (fullRows &+ r) &* lda, count: k) }
                for p in 0..<b.panelCount {
                    edge(row: fullRows, a: rowCopy, ldaA: k, panel: p, validRows: partialRows,
                         validColumns: min(width, n &- p &* width))
                }
            }
        }
    }
}
