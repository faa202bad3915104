/// 3×3 stride-1 TF-'same' convolution by Winograd F(m×m,3×3) (see `WinogradVariant`), same contract as
/// `Conv2D.forward` (NHWC, optional pixel strides, bias + accumulate + ReLU epilogue).
///
/// The output is cut into m×m tiles (partial tiles at the right/bottom edges; their extra outputs are never
/// written). Tiles are processed in blocks of `blockTiles`; per block, on one core:
///   1. input transform: each tile's T×T input pixels (zero vector where the tile reaches into the padding,
///      so borders need no special case) → `V[ξ][tile][Cin]`;
///   2. T² GEMMs `M[ξ] = V[ξ] · U[ξ]` ([tiles × Cin] · [Cin × Cout], `WinogradGEMM` on the kernel's
///      pre-packed panels: no BLAS call, so no per-call packing and no thread-count juggling);
///   3. output transform `Aᵀ M A` fused with the epilogue, written straight into the output pixels.
/// Each core runs its own contiguous share of the tiles, block by block (transforms and GEMMs).
public enum WinogradConv2D {
    /// Tiles per block (rounded up to whole 6-tile micro-tiles). With OpenBLAS GEMMs (CPU-seconds per 256²
    /// pass, F(4×4)): 48 → 0.77, 96 → 0.74, 192 → 0.73, 384 → 0.79, because larger blocks amortised the
    /// re-packing of U[ξ]. With `WinogradGEMM` (U packed once) the curve is flat within the noise of the shared
    /// machine (36 → 0.674, 66 → 0.660, 126 → 0.670, 192 → 0.675, load 7–9); a block of ~128 tiles
    /// still amortises reading each U[ξ] panel from L3 once per block.
    public static let defaultBlockTiles = 128

    /// Whether `geometry` can run on this path (3×3, stride 1, 'same').
    public static func supports(_ g: ConvolutionGeometry) -> Bool {
        g.kernelSize == 3 && g.stride == 1
    }

    static func tiles(_ g: ConvolutionGeometry, _ v: WinogradVariant) -> (y: Int, x: Int, total: Int) {
        let m = v.outputTile
        let ty = (g.outputHeight + m - 1) / m, tx = (g.outputWidth + m - 1) / m
        return (ty, tx, g.batch * ty * tx)
    }

    /// Worker `w`'s contiguous share of the tiles: equal to within one tile. (Dealing out whole blocks
    /// round-robin, as before, leaves one core a block more whenever the block count is odd, e.g. 4096
    /// tiles at 256² in blocks of 132 = 31 full blocks + 4 tiles.)
    static func workerTiles(total: Int, workers: Int, worker w: Int) -> Range<Int> {
        (total * w / workers)..<(total * (w + 1) / workers)
    }

    /// Tiles per block for a worker's `tiles`: as few blocks as `cap` allows, all of nearly equal size, each
    /// a whole number of 6-tile micro-tiles, never more than `cap` (a multiple of 6: `maximumBlock`).
    static func blockSize(tiles: Int, cap: Int) -> Int {
        let r = WinogradGEMM.rowsPerMicroTile
        let blocks = max(1, (tiles + cap - 1) / cap)
        return min(cap, ((tiles + blocks - 1) / blocks + r - 1) / r * r)
    }

    /// Workers for `total` tiles: every core that gets at least one micro-tile (6 tiles) of work.
    static func workers(total: Int, threads: Int) -> Int {
        max(1, min(threads, (total + WinogradGEMM.rowsPerMicroTile - 1) / WinogradGEMM.rowsPerMicroTile))
    }

    /// The largest block `blockSize` can return (scratch is sized for it).
    static func maximumBlock(total: Int, blockTiles: Int) -> Int {
        let r = WinogradGEMM.rowsPerMicroTile
        return (max(1, min(blockTiles, total)) + r - 1) / r * r
    }

    /// Floats of scratch one worker needs.
    static func workerScratch(_ g: ConvolutionGeometry, _ v: WinogradVariant, blockTiles: Int) -> Int {
        let t2 = v.inputTile * v.inputTile
        let widest = max(g.inputChannels, g.outputChannels)
        let paddedCout = (g.outputChannels + WinogradGEMM.panelWidth - 1) / WinogradGEMM.panelWidth * WinogradGEMM.panelWidth
        func round(_ n: Int) -> Int { (n + 15) & ~15 }
        return round(t2 * blockTiles * g.inputChannels) + round(t2 * blockTiles * paddedCout)
            + round(t2 * widest) + round(v.outputTile * g.outputChannels)
    }

    /// Scratch (floats) for `workers` concurrent workers plus the shared zero pixel.
    public static func scratchCount(_ g: ConvolutionGeometry, variant: WinogradVariant, workers: Int,
                                    blockTiles: Int = defaultBlockTiles) -> Int {
        let b = maximumBlock(total: max(tiles(g, variant).total, 1), blockTiles: blockTiles)
        return ((max(g.inputChannels, g.outputChannels) + 15) & ~15) + max(workers, 1) * workerScratch(g, variant, blockTiles: b)
    }

    public static func forward(
        _ g: ConvolutionGeometry,
        input: UnsafePointer<Float>, inputPixelStride: Int? = nil,
        kernel: WinogradKernel, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, outputPixelStride: Int? = nil,
        epilogue: ConvolutionEpilogue = .none,
        scratch: UnsafeMutableBufferPointer<Float>, threads: Int, blockTiles: Int = defaultBlockTiles
    ) {
        precondition(supports(g), "\(g): Winograd needs a 3×3 stride-1 convolution")
        precondition(kernel.inputChannels == g.inputChannels && kernel.outputChannels == g.outputChannels,
                     "\(g): Winograd kernel is \(kernel.inputChannels)→\(kernel.outputChannels)")
        let v = kernel.variant
        let m = v.outputTile, t = v.inputTile, t2 = t * t
        let cin = g.inputChannels, cout = g.outputChannels
        let lda = inputPixelStride ?? cin, ldc = outputPixelStride ?? cout
        let (tilesY, tilesX, total) = tiles(g, v)
        guard total > 0 else { return }
        let workers = workers(total: total, threads: threads)
        precondition(scratch.count >= scratchCount(g, variant: v, workers: workers, blockTiles: blockTiles),
                     "\(g): Winograd scratch of \(scratch.count) floats is too small")
        let zeros = scratch.baseAddress!
        zeros.update(repeating: 0, count: max(cin, cout))
        let biasOrZeros = bias ?? UnsafePointer(zeros)
        let perWorker = workerScratch(g, v, blockTiles: maximumBlock(total: total, blockTiles: blockTiles))
        let workerBase = zeros + ((max(cin, cout) + 15) & ~15)
        let inTerms = v.inputTerms, outTerms = v.outputTerms
        let widest = max(cin, cout)
        let ldm = kernel.paddedOutputChannels, panelCount = ldm / WinogradGEMM.panelWidth
        let maxBlock = maximumBlock(total: total, blockTiles: blockTiles)
        let vSize = (t2 * maxBlock * cin + 15) & ~15, mSize = (t2 * maxBlock * ldm + 15) & ~15
        let mr = WinogradGEMM.rowsPerMicroTile

        Parallel.forWorkers(workers) { w in
            let base = workerBase + w &* perWorker
            let vBuf = base, mBuf = base + vSize, tmp = base + vSize + mSize
            let yRow = tmp + ((t2 * widest + 15) & ~15)
            // source pointer tables: pixel pointers by column (stage 1 of the input transform), stage-1 rows
            let pix = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: t2)
            let rows = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: t2)
            let dst = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: t)
            defer { pix.deallocate(); rows.deallocate(); dst.deallocate() }
            let f4 = v == .f4x4
            let share = workerTiles(total: total, workers: workers, worker: w)
            let block = blockSize(tiles: share.count, cap: maxBlock)
            var first = share.lowerBound
            while first < share.upperBound {
                let count = min(block, share.upperBound &- first)
                // 1. input transform. Horizontally adjacent tiles share t − m = 2 input columns, so stage 1
                // (the column transforms) is kept per input column x in slot x mod t of `tmp`: a tile right
                // of the previous one in the same block only transforms its m new columns.
                for k in 0..<count {
                    let tile = first &+ k
                    let n = tile / (tilesY &* tilesX)
                    let rem = tile &- n &* tilesY &* tilesX
                    let ty = rem / tilesX, tx = rem &- ty &* tilesX
                    let y0 = ty &* m &- g.padTop, x0 = tx &* m &- g.padLeft
                    let image = input + n &* g.inputHeight &* g.inputWidth &* lda
                    // tile − 1 is the left neighbour (same row, same image) iff tx > 0
                    let firstNew = k > 0 && tx > 0 ? t &- m : 0
                    for c in firstNew..<t {
                        let x = x0 &+ c
                        let columnInside = x >= 0 && x < g.inputWidth
                        let column = pix + c &* t
                        for r in 0..<t {
                            let y = y0 &+ r
                            column[r] = columnInside && y >= 0 && y < g.inputHeight
                                ? image + (y &* g.inputWidth &+ x) &* lda : UnsafePointer(zeros)
                        }
                        // stage 1: tmp[i][slot(x)] = Σ_r Bᵀ[i,r] d[r][x]
                        let slot = ((x % t) &+ t) % t
                        if f4 {
                            for i in 0..<t { dst[i] = tmp + (i &* t &+ slot) &* cin }
                            WinogradF4.input(column, dst, count: cin)
                        } else {
                            for i in 0..<t {
                                inTerms.combine(row: i, sources: column, into: tmp + (i &* t &+ slot) &* cin, count: cin)
                            }
                        }
                    }
                    let firstSlot = ((x0 % t) &+ t) % t  // slot of the tile's column 0; column c: (firstSlot + c) mod t
                    // stage 2: V[i,j] = Σ_c tmp[i][c] Bᵀ[j,c]
                    for i in 0..<t {
                        for c in 0..<t {
                            let slot = firstSlot &+ c < t ? firstSlot &+ c : firstSlot &+ c &- t
                            rows[c] = UnsafePointer(tmp + (i &* t &+ slot) &* cin)
                        }
                        if f4 {
                            for j in 0..<t { dst[j] = vBuf + ((i &* t &+ j) &* block &+ k) &* cin }
                            WinogradF4.input(rows, dst, count: cin)
                        } else {
                            for j in 0..<t {
                                inTerms.combine(row: j, sources: rows, into: vBuf + ((i &* t &+ j) &* block &+ k) &* cin, count: cin)
                            }
                        }
                    }
                }
                // 2. one GEMM per transform coordinate (rows padded to whole micro-tiles with zero tiles)
                let paddedRows = (count &+ mr &- 1) / mr &* mr
                for xi in 0..<t2 {
                    let a = vBuf + xi &* block &* cin
                    if paddedRows > count { (a + count &* cin).update(repeating: 0, count: (paddedRows &- count) &* cin) }
                    WinogradGEMM.multiply(rows: paddedRows, k: cin, a: a, lda: cin, panels: kernel.panels(xi),
                                          panelCount: panelCount, c: mBuf + xi &* block &* ldm, ldc: ldm)
                }
                // 3. output transform + epilogue
                for k in 0..<count {
                    let tile = first &+ k
                    let n = tile / (tilesY &* tilesX)
                    let rem = tile &- n &* tilesY &* tilesX
                    let ty = rem / tilesX, tx = rem &- ty &* tilesX
                    let outRows = min(m, g.outputHeight &- ty &* m), outCols = min(m, g.outputWidth &- tx &* m)
                    // stage 1: s[r][j] = Σ_i Aᵀ[r,i] M[i,j]
                    for j in 0..<t {
                        for i in 0..<t { let offset: Int = ((i &* t &+ j) &* block &+ k) &* ldm; pix[i] = UnsafePointer(mBuf + offset) }
                        if f4 {
                            for r in 0..<m { dst[r] = tmp + (r &* t &+ j) &* cout }
                            WinogradF4.output(pix, dst, count: cout)
                        } else {
                            for r in 0..<outRows {
                                outTerms.combine(row: r, sources: pix, into: tmp + (r &* t &+ j) &* cout, count: cout)
                            }
                        }
                    }
                    // stage 2: y[r][c] = Σ_j s[r][j] Aᵀ[c,j], then the epilogue into the output pixel
                    let image = output + n &* g.outputHeight &* g.outputWidth &* ldc
                    for r in 0..<outRows {
                        for j in 0..<t { rows[j] = UnsafePointer(tmp + (r &* t &+ j) &* cout) }
                        let oy = ty &* m &+ r
                        if f4 && outCols == m {
                            // whole tile row: transform, bias, accumulate and ReLU in one pass into the pixels
                            for c in 0..<m { dst[c] = image + (oy &* g.outputWidth &+ tx &* m &+ c) &* ldc }
                            WinogradF4.outputStore(rows, dst, bias: biasOrZeros, count: cout,
                                                   accumulate: epilogue.accumulate, relu: epilogue.relu)
                            continue
                        }
                        if f4 {
                            for c in 0..<m { dst[c] = yRow + c &* cout }
                            WinogradF4.output(rows, dst, count: cout)
                        } else {
                            for c in 0..<outCols { outTerms.combine(row: c, sources: rows, into: yRow + c &* cout, count: cout) }
                        }
                        for c in 0..<outCols {
                            let pixel = image + (oy &* g.outputWidth &+ tx &* m &+ c) &* ldc
                            store(yRow + c &* cout, into: pixel, count: cout, bias: bias, epilogue: epilogue)
                        }
                    }
                }
                first &+= count
            }
        }
    }

    /// `dst = [relu]((accumulate ? dst : 0) + y + bias)`.
    @inline(__always)
    static func store(_ y: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int,
                      bias: UnsafePointer<Float>?, epilogue: ConvolutionEpilogue) {
        switch (epilogue.accumulate, bias, epilogue.relu) {
        case (false, nil, false): for o in 0..<count { dst[o] = y[o] }
        case (false, nil, true): for o in 0..<count { dst[o] = max(y[o], 0) }
        case (false, let b?, false): for o in 0..<count { dst[o] = y[o] + b[o] }
        case (false, let b?, true): for o in 0..<count { dst[o] = max(y[o] + b[o], 0) }
        case (true, nil, false): for o in 0..<count { dst[o] += y[o] }
        case (true, nil, true): for o in 0..<count { dst[o] = max(dst[o] + y[o], 0) }
        case (true, let b?, false): for o in 0..<count { dst[o] = dst[o] + y[o] + b[o] }
        case (true, let b?, true): for o in 0..<count { dst[o] = max(dst[o] + y[o] + b[o], 0) }
        }
    }
}
