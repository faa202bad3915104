import CheckpointImport

/// Sizes of a 2×2 stride-2 transposed convolution (`conv2d_transpose`, 'same'): output exactly 2H × 2W.
public struct TransposedConvolutionGeometry: Hashable, Sendable {
    public var batch: Int
    public var inputHeight: Int
    public var inputWidth: Int
    public var inputChannels: Int
    public var outputChannels: Int

    public init(batch: Int = 1, height: Int, width: Int, inputChannels: Int, outputChannels: Int) {
        self.batch = batch
        self.inputHeight = height
        self.inputWidth = width
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
    }

    public var inputShape: TensorShape {
        TensorShape(batch: batch, height: inputHeight, width: inputWidth, channels: inputChannels)
    }
    public var outputShape: TensorShape {
        TensorShape(batch: batch, height: 2 * inputHeight, width: 2 * inputWidth, channels: outputChannels)
    }
    public var inputPixelCount: Int { batch * inputHeight * inputWidth }
    public var multiplyAccumulates: Int { inputPixelCount * 4 * outputChannels * inputChannels }
}

/// Transposed convolution 2×2, stride 2, with bias; kernel `[kh, kw, Cout, Cin]` (TF's layout):
/// `out[2i+a, 2j+b, o] = Σ_c in[i, j, c] · K[a, b, o, c] + bias[o]`, a, b ∈ {0, 1} — every output pixel
/// sees exactly one input pixel through one tap (reference-model.md §1.2).
///
/// As a GEMM: the kernel read row-major is `[(a, b, o), c]` = `[4·Cout, Cin]`, so
/// `Y[p, (a,b,o)] = X[p, :] · Kᵀ` (one GEMM with B transposed), and Y's row p is scattered to the four
/// output pixels of input pixel p, adding the bias.
public enum TransposedConv2D {
    /// Scratch (floats) for `Y`; more scratch = fewer, larger GEMMs. At least `4·Cout`.
    public static func minimumScratchCount(_ g: TransposedConvolutionGeometry) -> Int { 4 * g.outputChannels }

    public static func preferredScratchCount(_ g: TransposedConvolutionGeometry, chunkBytes: Int = 16 << 20) -> Int {
        let row = 4 * g.outputChannels
        return max(min(g.inputPixelCount, max(chunkBytes / 4 / row, 64)), 1) * row
    }

    /// - Parameters:
    ///   - input: `N·H·W` pixels, `Cin` floats each (dense).
    ///   - kernel: `[2, 2, Cout, Cin]` row-major.
    ///   - output: `N·2H·2W` pixels of `outputPixelStride` floats (the first `Cout` are written), so the
    ///     result can land directly in the first channels of a concat buffer.
    ///   - relu: apply `max(0, ·)` after the bias (used when a following batch norm has been folded in).
    ///   - packedKernel: `Kᵀ` (`[Cin, 4·Cout]`) as a `PackedMatrix`, built once by the engine. When given
    ///     (and OpenBLAS is not threading the GEMMs itself), each chunk runs `PackedGEMM` on blocks of
    ///     `PackedGEMM.rowBlock` input pixels and scatters each block while it is in cache.
    public static func forward(
        _ g: TransposedConvolutionGeometry,
        input: UnsafePointer<Float>, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, outputPixelStride: Int? = nil, relu: Bool = false,
        scratch: UnsafeMutableBufferPointer<Float>, threads: Int, packedKernel: PackedMatrix? = nil
    ) {
        let cout = g.outputChannels
        let row = 4 * cout
        let ldc = outputPixelStride ?? cout
        precondition(scratch.count >= row, "transposed conv scratch \(scratch.count) < \(row) floats")
        let total = g.inputPixelCount
        let w = g.inputWidth, h = g.inputHeight
        let outWidth = 2 * w
        if let packedKernel {
            precondition(packedKernel.rows == g.inputChannels && packedKernel.columns == row,
                         "transposed conv packed kernel is [\(packedKernel.rows), \(packedKernel.columns)]")
        }
        func chunk(_ rows: Range<Int>, y: UnsafeMutablePointer<Float>, capacity: Int, threads: Int) {
            if let packedKernel, threads == 1 || GEMM.threads == 1 {
                let step = max(1, min(PackedGEMM.rowBlock, capacity))
                var start = rows.lowerBound
                while start < rows.upperBound {
                    let end = min(start &+ step, rows.upperBound)
                    PackedGEMM.multiply(rows: end &- start, a: input + start &* g.inputChannels, lda: g.inputChannels,
                                        b: packedKernel, c: y, ldc: row)
                    scatter(start..<end, y: y, threads: 1)
                    start = end
                }
                return
            }
            GEMM.multiply(m: rows.count, n: row, k: g.inputChannels, a: input + rows.lowerBound &* g.inputChannels,
                          lda: g.inputChannels, b: kernel, ldb: g.inputChannels, transposeB: true, c: y, ldc: row)
            scatter(rows, y: y, threads: threads)
        }
        /// Y's rows (input pixels `rows`, Y row 0 = `rows.lowerBound`) to their four output pixels, + bias.
        func scatter(_ rows: Range<Int>, y: UnsafeMutablePointer<Float>, threads: Int) {
            Parallel.forRanges(rows.count, threads: threads, minimumChunk: max(1, 16_384 / row)) { part in
                for r in part {
                    let p = rows.lowerBound &+ r
                    let n = p / (h &* w)
                    let rem = p &- n &* h &* w
                    let i = rem / w
                    let j = rem &- i &* w
                    let src = y + r &* row
                    for a in 0..<2 {
                        for b in 0..<2 {
                            let outPixel = (n &* 2 &* h &+ 2 &* i &+ a) &* outWidth &+ 2 &* j &+ b
                            let dst = output + outPixel &* ldc
                            let tap = src + (a &* 2 &+ b) &* cout
                            if let bias {
                                if relu {
                                    for o in 0..<cout { dst[o] = max(tap[o] + bias[o], 0) }
                                } else {
                                    for o in 0..<cout { dst[o] = tap[o] + bias[o] }
                                }
                            } else if relu {
                                for o in 0..<cout { dst[o] = max(tap[o], 0) }
                            } else {
                                dst.update(from: tap, count: cout)
                            }
                        }
                    }
                }
            }
        }
        let workers = Parallel.convolutionWorkers(threads: threads, rows: total)
        let slice = scratch.count / workers
        precondition(slice >= row, "transposed conv scratch too small for \(workers) workers")
        let rowsPerChunk = min(slice / row, (total + workers - 1) / workers)
        let chunks = (total + rowsPerChunk - 1) / rowsPerChunk
        let base = scratch.baseAddress!
        Parallel.forWorkers(workers) { wk in
            var c = wk
            while c < chunks {
                let start = c * rowsPerChunk
                chunk(start..<min(start + rowsPerChunk, total), y: base + wk &* slice, capacity: slice / row,
                      threads: workers == 1 ? threads : 1)
                c += workers
            }
        }
    }

    /// Allocating convenience: `kernel` is `[2, 2, Cout, Cin]`.
    public static func forward(_ input: Tensor, kernel: FloatTensor, bias: [Float]?, threads: Int = 1) -> Tensor {
        precondition(kernel.shape.count == 4 && kernel.shape[0] == 2 && kernel.shape[1] == 2,
                     "transposed conv kernel must be [2, 2, out, in], got \(kernel.shape)")
        precondition(kernel.shape[3] == input.shape.channels,
                     "kernel \(kernel.shape) expects \(kernel.shape[3]) input channels, tensor has \(input.shape)")
        let g = TransposedConvolutionGeometry(batch: input.shape.batch, height: input.shape.height,
                                              width: input.shape.width, inputChannels: kernel.shape[3],
                                              outputChannels: kernel.shape[2])
        var out = Tensor(shape: g.outputShape)
        let scratch = AlignedBuffer(count: preferredScratchCount(g))
        let biasValues = bias ?? []
        input.values.withUnsafeBufferPointer { x in
            kernel.values.withUnsafeBufferPointer { k in
                biasValues.withUnsafeBufferPointer { b in
                    out.values.withUnsafeMutableBufferPointer { o in
                        forward(g, input: x.baseAddress!, kernel: k.baseAddress!, bias: bias == nil ? nil : b.baseAddress,
                                output: o.baseAddress!, scratch: scratch.buffer, threads: threads)
                    }
                }
            }
        }
        return out
    }
}
