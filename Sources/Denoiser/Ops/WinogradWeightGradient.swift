/// ∂L/∂kernel of a 3×3 stride-1 TF-'same' convolution by Winograd F(m×m,3×3), the training counterpart of
/// `WinogradConv2D`.
///
/// Per tile the forward is `Y = Aᵀ[U ⊙ V]A` with `U = G g Gᵀ`, `V = Bᵀ d B`. Its adjoint with respect to U is
/// `Ū = V ⊙ M̄` with `M̄ = A Ȳ Aᵀ`, and the adjoint of `U = G g Gᵀ` is `ḡ = Gᵀ Ū G`. Summed over tiles and
/// channel pairs: for every transform coordinate ξ (T² of them)
///
///     dU[ξ] (Cin × Cout) = Σ_tiles V[ξ, tile, :]ᵀ · M̄[ξ, tile, :]
///
/// — T² GEMMs with depth = number of tiles, i.e. T²/m² multiply-accumulates per pixel·Cin·Cout (2.25 for
/// F(4×4), 4 for F(2×2)) instead of im2col's 9 — and then `dW[:, :, i, o] += Gᵀ dU[:, :, i, o] G`, one small
/// GEMM with the 9 × T² matrix (G ⊗ G)ᵀ. V is the forward's input transform (zero outside the image); Ȳ is
/// the output gradient of the tile, zero where the tile's outputs fall outside the image (partial tiles at
/// the right/bottom edges), which is exactly the adjoint of the forward never writing them.
///
/// Work is cut into blocks of `blockTiles` tiles; per block the transforms write `V[ξ][tile][Cin]` and
/// `M̄[ξ][tile][Cout]` and the T² GEMMs accumulate (β = 1) into dU. Parallel: see `Partition`.
public enum WinogradWeightGradient {
    /// Tiles per block (the GEMMs' depth per call). Measured on the paper model's training shapes at batch 4
    /// (`WinogradWeightGradientParityTests.testPaperShapes`, CPU-ms, F(4×4), loaded machine): 64, 128, 256 and
    /// 512 tiles are within ±15 % of each other on every layer, with 64–128 best on the 64² layers; 128
    /// keeps V and M̄ (36·128·(Cin + Cout) floats) at 3.5 MiB for 96 + 96 channels.
    public static let defaultBlockTiles = 128

    /// How the workers share the work.
    public enum Partition: Sendable, CaseIterable {
        /// Each worker takes whole blocks (transforms + GEMMs) into its own dU; the partial dU are summed at
        /// the end. No synchronisation per block, T²·Cin·Cout extra floats per worker.
        case tiles
        /// Per block, the workers split the tiles for the transforms, then the transform coordinates ξ for
        /// the GEMMs (two barriers per block, one shared dU).
        case coordinates
    }

    public static func supports(_ g: ConvolutionGeometry) -> Bool { WinogradConv2D.supports(g) }

    /// `.tiles` when every worker gets at least `tilesPartitionMinimum` tiles, else `.coordinates`. Measured
    /// (CPU-ms, F(4×4), batch 4): with 64 tiles (384→384 at 16²) the per-worker dU (21 MiB each) make `.tiles`
    /// 14.1 vs 11.8; with 256 tiles the two are equal; with 1024 tiles (192→96 at 64²) `.coordinates` pays for
    /// moving V and M̄ between the cores: 21.8 (`.tiles`) vs 30.9.
    public static func preferredPartition(_ g: ConvolutionGeometry, variant v: WinogradVariant, workers: Int) -> Partition {
        WinogradConv2D.tiles(g, v).total / max(workers, 1) >= tilesPartitionMinimum ? .tiles : .coordinates
    }
    static let tilesPartitionMinimum = 128

    @inline(__always) private static func round16(_ n: Int) -> Int { (n + 15) & ~15 }

    /// Tiles per block actually used: at most `blockTiles`, and small enough that every worker gets a block.
    static func blockSize(_ g: ConvolutionGeometry, _ v: WinogradVariant, workers: Int, blockTiles: Int,
                          partition: Partition) -> Int {
        let total = max(WinogradConv2D.tiles(g, v).total, 1)
        let perWorker = partition == .tiles ? (total + workers - 1) / max(workers, 1) : total
        return max(1, min(blockTiles, perWorker))
    }

    /// Scratch (floats) for `workers` concurrent workers.
    public static func scratchCount(_ g: ConvolutionGeometry, variant v: WinogradVariant, workers: Int,
                                    blockTiles: Int = defaultBlockTiles, partition: Partition) -> Int {
        let layout = Layout(g, v, workers: max(workers, 1),
                            block: blockSize(g, v, workers: max(workers, 1), blockTiles: blockTiles, partition: partition),
                            partition: partition)
        return layout.total
    }

    /// Offsets (floats) of the scratch regions.
    struct Layout {
        let zeros = 0
        let gradients: Int, gradientSize: Int, gradientCount: Int
        let transforms: Int, transformSize: Int, transformCount: Int
        let tmp: Int, tmpSize: Int
        let total: Int
        let vSize: Int

        init(_ g: ConvolutionGeometry, _ v: WinogradVariant, workers: Int, block: Int, partition: Partition) {
            let t2 = v.inputTile * v.inputTile
            let widest = max(g.inputChannels, g.outputChannels)
            gradients = round16(widest)
            gradientSize = round16(t2 * g.inputChannels * g.outputChannels)
            gradientCount = partition == .tiles ? workers : 1
            transforms = gradients + gradientCount * gradientSize
            vSize = round16(t2 * block * g.inputChannels)
            transformSize = vSize + round16(t2 * block * g.outputChannels)
            transformCount = partition == .tiles ? workers : 1
            tmp = transforms + transformCount * transformSize
            tmpSize = round16(t2 * widest)
            total = tmp + workers * tmpSize
        }
    }

    /// `kernelGradient[3, 3, Cin, Cout] += ∂L/∂kernel` for the convolution of `input` (N·H·W·Cin) whose
    /// output gradient is `outputGradient` (N·H·W·Cout, dense NHWC).
    /// - Parameters:
    ///   - scratch: at least `scratchCount(g, variant:, workers: threads, blockTiles:, partition:)` floats.
    ///   - threads: workers; with more than one, OpenBLAS is set to one thread for the duration (its thread
    ///     count is process-wide) and restored afterwards.
    public static func accumulate(
        _ g: ConvolutionGeometry, variant v: WinogradVariant,
        input: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        kernelGradient dw: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutableBufferPointer<Float>, threads: Int,
        blockTiles: Int = defaultBlockTiles, partition: Partition
    ) {
        precondition(supports(g), "\(g): Winograd weight gradient needs a 3×3 stride-1 convolution")
        let t = v.inputTile, t2 = t * t
        let cin = g.inputChannels, cout = g.outputChannels
        let total = WinogradConv2D.tiles(g, v).total
        guard total > 0, cin > 0, cout > 0 else { return }
        var workers = max(threads, 1)
        let block = blockSize(g, v, workers: workers, blockTiles: blockTiles, partition: partition)
        let blocks = (total + block - 1) / block
        if partition == .tiles { workers = min(workers, blocks) }
        let layout = Layout(g, v, workers: workers, block: block, partition: partition)
        precondition(scratch.count >= layout.total, "\(g): Winograd weight-gradient scratch of \(scratch.count) floats is too small")
        let base = scratch.baseAddress!
        let zeros = base + layout.zeros
        zeros.update(repeating: 0, count: max(cin, cout))

        let blasThreads = GEMM.threads
        if workers > 1 && blasThreads != 1 { GEMM.setThreads(1) }
        defer { if workers > 1 && blasThreads != 1 { GEMM.setThreads(blasThreads) } }

        let context = TileTransformer(g: g, v: v, input: input, outputGradient: dy, zeros: UnsafePointer(zeros), block: block)
        let matrix = cin &* cout
        switch partition {
        case .tiles:
            Parallel.forWorkers(workers) { w in
                let dU = base + layout.gradients + w &* layout.gradientSize
                let vBuf = base + layout.transforms + w &* layout.transformSize
                let mBuf = vBuf + layout.vSize
                let tables = TileTransformer.Tables(t: t)
                defer { tables.deallocate() }
                var b = w, first = true
                while b < blocks {
                    let start = b &* block, count = min(block, total &- start)
                    context.transform(tiles: start..<(start &+ count), blockStart: start, v: vBuf, m: mBuf,
                                      tmp: base + layout.tmp + w &* layout.tmpSize, tables: tables)
                    for xi in 0..<t2 {
                        GEMM.multiply(m: cin, n: cout, k: count, a: vBuf + xi &* block &* cin, lda: cin, transposeA: true,
                                      b: mBuf + xi &* block &* cout, ldb: cout, c: dU + xi &* matrix, ldc: cout,
                                      beta: first ? 0 : 1)
                    }
                    first = false
                    b &+= workers
                }
            }
        case .coordinates:
            let dU = base + layout.gradients
            let vBuf = base + layout.transforms, mBuf = vBuf + layout.vSize
            for b in 0..<blocks {
                let start = b &* block, count = min(block, total &- start)
                let split = workers > 1 && count >= 2 * workers ? workers : 1
                Parallel.forWorkers(split) { w in
                    let lo = start &+ count &* w / split, hi = start &+ count &* (w &+ 1) / split
                    let tables = TileTransformer.Tables(t: t)
                    defer { tables.deallocate() }
                    context.transform(tiles: lo..<hi, blockStart: start, v: vBuf, m: mBuf,
                                      tmp: base + layout.tmp + w &* layout.tmpSize, tables: tables)
                }
                Parallel.forWorkers(min(workers, t2)) { w in
                    var xi = w
                    while xi < t2 {
                        GEMM.multiply(m: cin, n: cout, k: count, a: vBuf + xi &* block &* cin, lda: cin, transposeA: true,
                                      b: mBuf + xi &* block &* cout, ldb: cout, c: dU + xi &* matrix, ldc: cout,
                                      beta: b == 0 ? 0 : 1)
                        xi &+= min(workers, t2)
                    }
                }
            }
        }

        // dW[9, Cin·Cout] += (G ⊗ G)ᵀ · Σ_workers dU[T², Cin·Cout], split over columns.
        let partials = layout.gradientCount == 1 ? 1 : workers
        let kron = v.weightGradientKronecker
        Parallel.forRanges(matrix, threads: workers, minimumChunk: 4096) { part in
            let dU = base + layout.gradients
            for w in 1..<max(partials, 1) {
                let other = UnsafePointer(dU + w &* layout.gradientSize)
                for xi in 0..<t2 {
                    let row = dU + xi &* matrix, src = other + xi &* matrix
                    for c in part { row[c] += src[c] }
                }
            }
            kron.withUnsafeBufferPointer { kp in
                GEMM.multiply(m: 9, n: part.count, k: t2, a: kp.baseAddress!, lda: 9, transposeA: true,
                              b: dU + part.lowerBound, ldb: matrix, c: dw + part.lowerBound, ldc: matrix, beta: 1)
            }
        }
    }
}

/// The two per-tile transforms of the weight gradient, for tiles of one block.
private struct TileTransformer {
    let g: ConvolutionGeometry
    let v: WinogradVariant
    let input: UnsafePointer<Float>
    let outputGradient: UnsafePointer<Float>
    let zeros: UnsafePointer<Float>
    let block: Int

    /// Pointer tables of one worker (allocated once per worker, not per tile).
    struct Tables {
        let sources: UnsafeMutablePointer<UnsafePointer<Float>>
        let rows: UnsafeMutablePointer<UnsafePointer<Float>>
        let destinations: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
        init(t: Int) {
            sources = .allocate(capacity: t * t)
            rows = .allocate(capacity: t)
            destinations = .allocate(capacity: t)
        }
        func deallocate() { sources.deallocate(); rows.deallocate(); destinations.deallocate() }
    }

    /// Writes `V[ξ][tile − blockStart][Cin]` and `M̄[ξ][tile − blockStart][Cout]` for `tiles`.
    func transform(tiles: Range<Int>, blockStart: Int, v vBuf: UnsafeMutablePointer<Float>, m mBuf: UnsafeMutablePointer<Float>,
                   tmp: UnsafeMutablePointer<Float>, tables: Tables) {
        let m = v.outputTile, t = v.inputTile
        let cin = g.inputChannels, cout = g.outputChannels
        let (tilesY, tilesX, _) = WinogradConv2D.tiles(g, v)
        let f4 = v == .f4x4
        let inTerms = v.inputTerms, adjointTerms = v.outputAdjointTerms
        let pix = tables.sources, rows = tables.rows, dst = tables.destinations
        for tile in tiles {
            let k = tile &- blockStart
            let n = tile / (tilesY &* tilesX)
            let rem = tile &- n &* tilesY &* tilesX
            let ty = rem / tilesX, tx = rem &- ty &* tilesX

            // V = Bᵀ d B, as in WinogradConv2D.forward (pixels outside the image read the zero vector).
            let y0 = ty &* m &- g.padTop, x0 = tx &* m &- g.padLeft
            let image = input + n &* g.inputHeight &* g.inputWidth &* cin
            for r in 0..<t {
                let y = y0 &+ r
                let rowInside = y >= 0 && y < g.inputHeight
                for c in 0..<t {
                    let x = x0 &+ c
                    pix[c &* t &+ r] = rowInside && x >= 0 && x < g.inputWidth ? image + (y &* g.inputWidth &+ x) &* cin : zeros
                }
            }
            for c in 0..<t {  // tmp[i][c] = Σ_r Bᵀ[i,r] d[r][c]
                if f4 {
                    for i in 0..<t { dst[i] = tmp + (i &* t &+ c) &* cin }
                    WinogradF4.input(pix + c &* t, dst, count: cin)
                } else {
                    for i in 0..<t { inTerms.combine(row: i, sources: pix + c &* t, into: tmp + (i &* t &+ c) &* cin, count: cin) }
                }
            }
            for i in 0..<t {  // V[i,j] = Σ_c tmp[i][c] Bᵀ[j,c]
                for c in 0..<t { rows[c] = UnsafePointer(tmp + (i &* t &+ c) &* cin) }
                if f4 {
                    for j in 0..<t { dst[j] = vBuf + ((i &* t &+ j) &* block &+ k) &* cin }
                    WinogradF4.input(rows, dst, count: cin)
                } else {
                    for j in 0..<t { inTerms.combine(row: j, sources: rows, into: vBuf + ((i &* t &+ j) &* block &+ k) &* cin, count: cin) }
                }
            }

            // M̄ = A Ȳ Aᵀ (A = (Aᵀ)ᵀ, T × m); outputs outside the image contribute zero.
            let oy0 = ty &* m, ox0 = tx &* m
            let gradient = outputGradient + n &* g.outputHeight &* g.outputWidth &* cout
            for r in 0..<m {
                let y = oy0 &+ r
                for c in 0..<m {
                    let x = ox0 &+ c
                    pix[c &* m &+ r] = y < g.outputHeight && x < g.outputWidth ? gradient + (y &* g.outputWidth &+ x) &* cout : zeros
                }
            }
            for c in 0..<m {  // tmp[i][c] = Σ_r A[i,r] Ȳ[r][c], i in 0..<T
                if f4 {
                    for i in 0..<t { dst[i] = tmp + (i &* m &+ c) &* cout }
                    WinogradF4.outputAdjoint(pix + c &* m, dst, count: cout)
                } else {
                    for i in 0..<t { adjointTerms.combine(row: i, sources: pix + c &* m, into: tmp + (i &* m &+ c) &* cout, count: cout) }
                }
            }
            for i in 0..<t {  // M̄[i,j] = Σ_c tmp[i][c] A[j,c]
                for c in 0..<m { rows[c] = UnsafePointer(tmp + (i &* m &+ c) &* cout) }
                if f4 {
                    for j in 0..<t { dst[j] = mBuf + ((i &* t &+ j) &* block &+ k) &* cout }
                    WinogradF4.outputAdjoint(rows, dst, count: cout)
                } else {
                    for j in 0..<t { adjointTerms.combine(row: j, sources: rows, into: mBuf + ((i &* t &+ j) &* block &+ k) &* cout, count: cout) }
                }
            }
        }
    }
}

extension WinogradVariant {
    /// (G ⊗ G) as a T² × 9 row-major matrix: `U[(i,j)] = Σ_(a,b) G[i,a]·G[j,b]·g[a,b]` (the same matrix
    /// `WinogradKernel` applies); the weight gradient applies its transpose.
    var kroneckerFilterMatrix: [Float] {
        let t = inputTile, g = filterMatrix
        var kron = [Float](repeating: 0, count: t * t * 9)
        for i in 0..<t { for j in 0..<t { for a in 0..<3 { for b in 0..<3 {
            kron[(i * t + j) * 9 + a * 3 + b] = Float(g[i * 3 + a] * g[j * 3 + b])
        } } } }
        return kron
    }

    var weightGradientKronecker: [Float] { self == .f2x2 ? Self.kronecker2 : Self.kronecker4 }
    private static let kronecker2 = WinogradVariant.f2x2.kroneckerFilterMatrix
    private static let kronecker4 = WinogradVariant.f4x4.kroneckerFilterMatrix

    /// A = (Aᵀ)ᵀ, T × m row-major: the adjoint of the output transform.
    var outputAdjointMatrix: [Float] {
        let m = outputTile, t = inputTile, at = outputMatrix
        return (0..<(t * m)).map { at[($0 % m) * t + $0 / m] }
    }

    var outputAdjointTerms: WinogradTerms { self == .f2x2 ? .outputAdjoint2 : .outputAdjoint4 }
}

extension WinogradTerms {
    static let outputAdjoint2 = WinogradTerms(matrix: WinogradVariant.f2x2.outputAdjointMatrix, rows: 4, columns: 2)
    static let outputAdjoint4 = WinogradTerms(matrix: WinogradVariant.f4x4.outputAdjointMatrix, rows: 6, columns: 4)
}

extension WinogradF4 {
    /// `d[i] = Σ_r A[i,r]·s[r] = Σ_r Aᵀ[r,i]·s[r]`, i in 0..<6, r in 0..<4 (the adjoint of `output`).
    @inline(__always)
    static func outputAdjoint(_ s: UnsafePointer<UnsafePointer<Float>>, _ d: UnsafePointer<UnsafeMutablePointer<Float>>,
                              count: Int) {
        let s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3]
        let d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3], d4 = d[4], d5 = d[5]
        for c in 0..<count {
            let x0 = s0[c], x1 = s1[c], x2 = s2[c], x3 = s3[c]
            let p = x0 + x2, q = x1 + x3
            let p4 = x0 + 4 * x2, q8 = 2 * x1 + 8 * x3
            d0[c] = x0
            d1[c] = p + q
            d2[c] = p - q
            d3[c] = p4 + q8
            d4[c] = p4 - q8
            d5[c] = x3
        }
    }
}
