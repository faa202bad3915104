import CheckpointImport
import Denoiser

extension Conv2D {
    /// Gradients of `Conv2D.forward` (any k, stride, TF 'same' padding, optional bias).
    ///
    /// ∂kernel (`[k·k·Cin, Cout]`) is accumulated (β = 1) so the masked and unmasked passes add into one
    /// buffer. 3×3 stride-1 convolutions for which `weightGradientAlgorithm` picks a Winograd variant use
    /// `WinogradWeightGradient` (4× fewer multiplies for F(4×4)); the others add colᵀ·dY over chunks of
    /// output pixels (bounded im2col scratch, like the forward). The bias gradient Σ dY is returned.
    /// ∂x: for stride 1 with an odd kernel (symmetric padding) it is the forward convolution of dY with the
    /// spatially flipped, in/out-transposed kernel, run by `Conv2D.forward` itself: a GEMM with depth k·k·Cout
    /// instead of col2im(dY·Wᵀ), whose GEMM depth is only Cout and which needs a sequential scatter. Strided
    /// convolutions (the 2×2 downsampling) use col2im.
    static func backward(
        input x: Tensor, outputGradient dy: Tensor, kernel: FloatTensor, stride: Int = 1,
        kernelGradient: inout [Float], needInputGradient: Bool = true,
        weightGradientAlgorithm: ConvolutionAlgorithm = .automatic, scratch arena: TrainingScratch? = nil, threads: Int
    ) -> (input: Tensor?, bias: [Float]) {
        let g = ConvolutionGeometry(batch: x.shape.batch, height: x.shape.height, width: x.shape.width,
                                    inputChannels: kernel.shape[2], outputChannels: kernel.shape[3],
                                    kernelSize: kernel.shape[0], stride: stride)
        precondition(g.outputShape == dy.shape, "conv backward: gradient \(dy.shape) does not match \(g)")
        precondition(kernelGradient.count == kernel.count)
        let cin = g.inputChannels, cout = g.outputChannels, k = g.patchLength
        let flippedInputGradient = needInputGradient && !g.isPointwise && stride == 1 && g.kernelSize % 2 == 1
        var dx: Tensor? = needInputGradient && !flippedInputGradient ? Tensor(shape: x.shape) : nil
        if let variant = weightGradientAlgorithm.winogradVariant(for: g) {
            let workers = max(threads, 1)
            let partition = WinogradWeightGradient.preferredPartition(g, variant: variant, workers: workers)
            let count = WinogradWeightGradient.scratchCount(g, variant: variant, workers: workers, partition: partition)
            let owned = arena == nil ? AlignedBuffer(count: count) : nil
            let scratch = owned?.buffer ?? arena!.buffer(count: count)
            x.values.withUnsafeBufferPointer { xp in
                dy.values.withUnsafeBufferPointer { gp in
                    kernelGradient.withUnsafeMutableBufferPointer { dwp in
                        WinogradWeightGradient.accumulate(g, variant: variant, input: xp.baseAddress!, outputGradient: gp.baseAddress!,
                                                          kernelGradient: dwp.baseAddress!, scratch: scratch,
                                                          threads: workers, partition: partition)
                    }
                }
            }
            // Winograd applies only to 3×3 stride 1, whose input gradient is the flipped-kernel convolution.
            precondition(dx == nil)
            withExtendedLifetime(owned) {}
            if needInputGradient { dx = Conv2D.forward(dy, kernel: flippedTransposed(kernel), threads: threads) }
            return (dx, ChannelSum.of(dy))
        }
        x.values.withUnsafeBufferPointer { xp in
            dy.values.withUnsafeBufferPointer { gp in
                kernel.values.withUnsafeBufferPointer { wp in
                    kernelGradient.withUnsafeMutableBufferPointer { dwp in
                        if g.isPointwise {
                            SplitGEMM.multiply(m: cin, n: cout, k: g.outputPixelCount, a: xp.baseAddress!, lda: cin, transposeA: true,
                                               b: gp.baseAddress!, ldb: cout, c: dwp.baseAddress!, ldc: cout, beta: 1,
                                               split: .columns, threads: threads)
                            if dx != nil {
                                dx!.values.withUnsafeMutableBufferPointer { dxp in
                                    SplitGEMM.multiply(m: g.outputPixelCount, n: cin, k: cout, a: gp.baseAddress!, lda: cout,
                                                       b: wp.baseAddress!, ldb: cout, transposeB: true,
                                                       c: dxp.baseAddress!, ldc: cin, split: .rows, threads: threads)
                                }
                            }
                            return
                        }
                        let count = preferredScratchCount(g)
                        let owned = arena == nil ? AlignedBuffer(count: count) : nil
                        let columns = owned?.pointer ?? arena!.buffer(count: count).baseAddress!
                        defer { withExtendedLifetime(owned) {} }
                        let chunk = min(count / k, g.outputPixelCount)
                        var start = 0
                        while start < g.outputPixelCount {
                            let end = min(start + chunk, g.outputPixelCount)
                            let rows = end - start
                            Parallel.forRanges(rows, threads: threads, minimumChunk: max(1, 16_384 / k)) { part in
                                Im2Col.gather(g, input: xp.baseAddress!,
                                              pixels: (start + part.lowerBound)..<(start + part.upperBound),
                                              columns: columns + part.lowerBound &* k)
                            }
                            SplitGEMM.multiply(m: k, n: cout, k: rows, a: columns, lda: k, transposeA: true,
                                               b: gp.baseAddress! + start &* cout, ldb: cout, c: dwp.baseAddress!, ldc: cout,
                                               beta: 1, split: .columns, threads: threads)
                            if dx != nil {
                                SplitGEMM.multiply(m: rows, n: k, k: cout, a: gp.baseAddress! + start &* cout, lda: cout,
                                                   b: wp.baseAddress!, ldb: cout, transposeB: true, c: columns, ldc: k,
                                                   split: .rows, threads: threads)
                                dx!.values.withUnsafeMutableBufferPointer { dxp in
                                    // Taps of different output pixels never overlap when kernel ≤ stride (the 2×2
                                    // downsampling), so the scatter can then run in parallel over pixel ranges.
                                    let disjoint = g.kernelSize <= g.stride
                                    Parallel.forRanges(rows, threads: disjoint ? threads : 1,
                                                       minimumChunk: max(1, 16_384 / k)) { part in
                                        Col2Im.scatterAdd(g, columns: columns + part.lowerBound &* k,
                                                          pixels: (start + part.lowerBound)..<(start + part.upperBound),
                                                          into: dxp.baseAddress!)
                                    }
                                }
                            }
                            start = end
                        }
                    }
                }
            }
        }
        if flippedInputGradient {
            dx = Conv2D.forward(dy, kernel: flippedTransposed(kernel), threads: threads)
        }
        return (dx, ChannelSum.of(dy))
    }

    /// W'[a, b, o, i] = W[k−1−a, k−1−b, i, o]: the kernel of the input-gradient convolution.
    static func flippedTransposed(_ kernel: FloatTensor) -> FloatTensor {
        let k = kernel.shape[0], cin = kernel.shape[2], cout = kernel.shape[3]
        let out = [Float](unsafeUninitializedCapacity: kernel.count) { out, initialized in
            kernel.values.withUnsafeBufferPointer { w in
                for a in 0..<k {
                    for b in 0..<k {
                        let src = w.baseAddress! + ((k &- 1 &- a) &* k &+ (k &- 1 &- b)) &* cin &* cout
                        let dst = out.baseAddress! + (a &* k &+ b) &* cout &* cin
                        // 8×8 blocks keep both the reads and the strided writes within a few cache lines
                        for i0 in stride(from: 0, to: cin, by: 8) {
                            for o0 in stride(from: 0, to: cout, by: 8) {
                                for i in i0..<min(i0 &+ 8, cin) {
                                    for o in o0..<min(o0 &+ 8, cout) { dst[o &* cin &+ i] = src[i &* cout &+ o] }
                                }
                            }
                        }
                    }
                }
            }
            initialized = kernel.count
        }
        return FloatTensor(shape: [k, k, cout, cin], values: out)
    }
}

/// The adjoint of `Im2Col.gather`: adds each column row back onto the input positions it was read from
/// (taps in the padding are dropped). Sequential because neighbouring rows write to overlapping pixels.
enum Col2Im {
    static func scatterAdd(
        _ g: ConvolutionGeometry, columns: UnsafePointer<Float>, pixels: Range<Int>, into image: UnsafeMutablePointer<Float>
    ) {
        let cin = g.inputChannels, k = g.kernelSize, rowLength = g.patchLength
        let outPerImage = g.outputHeight &* g.outputWidth
        for p in pixels {
            let n = p / outPerImage
            let rem = p &- n &* outPerImage
            let oy = rem / g.outputWidth
            let ox = rem &- oy &* g.outputWidth
            let row = columns + (p &- pixels.lowerBound) &* rowLength
            let imageBase = image + n &* g.inputHeight &* g.inputWidth &* cin
            for ky in 0..<k {
                let y = oy &* g.stride &- g.padTop &+ ky
                if y < 0 || y >= g.inputHeight { continue }
                for kx in 0..<k {
                    let x = ox &* g.stride &- g.padLeft &+ kx
                    if x < 0 || x >= g.inputWidth { continue }
                    let src = row + (ky &* k &+ kx) &* cin
                    let dst = imageBase + (y &* g.inputWidth &+ x) &* cin
                    for c in 0..<cin { dst[c] += src[c] }
                }
            }
        }
    }
}

/// Σ over all pixels per channel, accumulated in Double (bias and β gradients).
enum ChannelSum {
    static func of(_ t: Tensor) -> [Float] {
        let c = t.shape.channels
        var sums = [Double](repeating: 0, count: c)
        t.values.withUnsafeBufferPointer { p in
            for q in 0..<t.shape.pixelCount { for o in 0..<c { sums[o] += Double(p[q &* c &+ o]) } }
        }
        return sums.map { Float($0) }
    }
}
