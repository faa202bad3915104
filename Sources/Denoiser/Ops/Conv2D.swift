import CheckpointImport

/// What to do to a convolution's output after the GEMM, while the chunk is still in cache.
public struct ConvolutionEpilogue: Sendable {
    /// Add the GEMM result to what the output already holds (`β = 1`), e.g. a residual block's shortcut.
    public var accumulate: Bool
    /// Apply `max(0, ·)` after bias (a folded batch norm followed by ReLU).
    public var relu: Bool

    public init(accumulate: Bool = false, relu: Bool = false) {
        self.accumulate = accumulate
        self.relu = relu
    }
    public static let none = ConvolutionEpilogue()
}

/// A second result a convolution can write while its output rows are still in cache:
/// `secondary[p, o] = [relu](scale[o]·y[p, o] + shift[o])` — the next residual block's `relu(bn1(·))`.
public struct AffineOutput {
    public var output: UnsafeMutablePointer<Float>
    /// Floats between pixels of `output` (default: the convolution's Cout).
    public var pixelStride: Int?
    public var scale: UnsafePointer<Float>
    public var shift: UnsafePointer<Float>
    public var relu: Bool

    public init(output: UnsafeMutablePointer<Float>, pixelStride: Int? = nil, scale: UnsafePointer<Float>,
                shift: UnsafePointer<Float>, relu: Bool) {
        self.output = output
        self.pixelStride = pixelStride
        self.scale = scale
        self.shift = shift
        self.relu = relu
    }

    /// Applies the map to `pixels` rows of `source` (pixel stride `sourceStride`, `channels` used).
    func apply(pixels: Range<Int>, source: UnsafePointer<Float>, sourceStride: Int, channels: Int, threads: Int) {
        let ld = pixelStride ?? channels
        BatchNorm.apply(pixels: pixels.count, channels: channels, input: source + pixels.lowerBound &* sourceStride,
                        inputPixelStride: sourceStride, scale: scale, shift: shift, relu: relu,
                        output: output + pixels.lowerBound &* ld, outputPixelStride: ld, threads: threads)
    }
}

/// 2-D convolution (cross-correlation, TF 'same' padding, HWIO kernel `[k, k, Cin, Cout]`) as
/// im2col + `cblas_sgemm`; a 1×1 stride-1 convolution is a plain GEMM on the input.
///
/// `output[p, o] = Σ_(ky,kx,c) patch(p)[ky,kx,c] · K[ky,kx,c,o] + bias[o]`, computed over chunks of output
/// pixels so the im2col scratch stays bounded (the caller's `scratch` decides the chunk size). Used for the
/// 3×3 and 1×1 stride-1 convolutions and the 2×2 stride-2 downsampling (with bias).
public enum Conv2D {
    /// Minimum scratch (floats) for `geometry`: one im2col row (0 for pointwise convolutions). More scratch
    /// means bigger GEMMs; `preferredScratchCount` is what the engine plans.
    public static func minimumScratchCount(_ geometry: ConvolutionGeometry) -> Int {
        geometry.isPointwise ? 0 : geometry.patchLength
    }

    /// Scratch for chunks of about `chunkBytes` (the whole im2col matrix if smaller).
    public static func preferredScratchCount(_ geometry: ConvolutionGeometry, chunkBytes: Int = 16 << 20) -> Int {
        if geometry.isPointwise { return 0 }
        let rows = min(geometry.outputPixelCount, max(chunkBytes / 4 / geometry.patchLength, 64))
        return max(rows, 1) * geometry.patchLength
    }

    /// The pointer-level forward pass.
    /// - Parameters:
    ///   - input: `N·H·W` pixels of `inputPixelStride` floats (first `Cin` used).
    ///   - kernel: HWIO, i.e. row-major `[k·k·Cin, Cout]`.
    ///   - bias: `Cout` values or nil.
    ///   - output: `N·OH·OW` pixels of `outputPixelStride` floats (first `Cout` written), may be a channel
    ///     slice of a concat buffer.
    ///   - scratch: im2col space, at least `minimumScratchCount` (may be empty for 1×1 stride 1); must not
    ///     alias input or output. With `threads > 1` and OpenBLAS at 1 thread it is split between workers.
    ///   - threads: workers for the memory-bound parts, or for whole chunks when OpenBLAS runs single-threaded
    ///     (see `Parallel.convolutionWorkers`).
    ///   - packedKernel: the same kernel as a `[k·k·Cin, Cout]` `PackedMatrix` (the engine builds it once per
    ///     layer). When given, the worker-mode chunks run `PackedGEMM` on blocks of `PackedGEMM.rowBlock`
    ///     rows (im2col, GEMM and epilogue per block, all cache-hot) instead of `cblas_sgemm`. Ignored with
    ///     the accumulate epilogue and when OpenBLAS threads the GEMMs itself.
    ///   - secondary: also write `secondary`'s affine map of the result (per row block on the packed path,
    ///     else in one pass at the end).
    public static func forward(
        _ geometry: ConvolutionGeometry,
        input: UnsafePointer<Float>, inputPixelStride: Int? = nil,
        kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, outputPixelStride: Int? = nil,
        epilogue: ConvolutionEpilogue = .none,
        scratch: UnsafeMutableBufferPointer<Float>, threads: Int,
        packedKernel: PackedMatrix? = nil, secondary: AffineOutput? = nil
    ) {
        let g = geometry
        let lda = inputPixelStride ?? g.inputChannels
        let ldc = outputPixelStride ?? g.outputChannels
        let total = g.outputPixelCount
        let beta: Float = epilogue.accumulate ? 1 : 0
        let k = g.patchLength
        if !g.isPointwise {
            precondition(scratch.count >= k, "\(g): im2col scratch of \(scratch.count) floats < one row (\(k))")
        }
        let workers = Parallel.convolutionWorkers(threads: threads, rows: total)
        let packedPath = packedKernel != nil && !epilogue.accumulate && (workers > 1 || threads == 1 || GEMM.threads == 1)
        defer {
            if !packedPath, let secondary {
                secondary.apply(pixels: 0..<total, source: output, sourceStride: ldc, channels: g.outputChannels,
                                threads: threads)
            }
        }
        if let packedKernel {
            precondition(packedKernel.rows == k && packedKernel.columns == g.outputChannels,
                         "\(g): packed kernel is [\(packedKernel.rows), \(packedKernel.columns)]")
        }
        // One chunk = im2col of `rows` output pixels into this worker's scratch, GEMM, epilogue — all on one
        // core while the chunk is in its cache.
        func chunk(_ rows: Range<Int>, columns: UnsafeMutablePointer<Float>?, columnRows: Int, threads: Int) {
            if let packedKernel, packedPath {
                let step = g.isPointwise ? PackedGEMM.rowBlock : max(1, min(PackedGEMM.rowBlock, columnRows))
                var start = rows.lowerBound
                while start < rows.upperBound {
                    let end = min(start &+ step, rows.upperBound)
                    let a: UnsafePointer<Float>
                    let ldaGEMM: Int
                    if g.isPointwise {
                        a = input + start &* lda
                        ldaGEMM = lda
                    } else {
                        Im2Col.gather(g, input: input, inputPixelStride: lda, pixels: start..<end, columns: columns!)
                        a = UnsafePointer(columns!)
                        ldaGEMM = k
                    }
                    PackedGEMM.multiply(rows: end &- start, a: a, lda: ldaGEMM, b: packedKernel,
                                        c: output + start &* ldc, ldc: ldc)
                    applyEpilogue(rows: start..<end, output: output, ldc: ldc, channels: g.outputChannels,
                                  bias: bias, relu: epilogue.relu, threads: 1)
                    secondary?.apply(pixels: start..<end, source: output, sourceStride: ldc, channels: g.outputChannels,
                                     threads: 1)
                    start = end
                }
                return
            }
            let a: UnsafePointer<Float>
            let ldaGEMM: Int
            if g.isPointwise {
                a = input + rows.lowerBound &* lda
                ldaGEMM = lda
            } else {
                let columns = columns!
                Parallel.forRanges(rows.count, threads: threads, minimumChunk: max(1, 16_384 / k)) { part in
                    Im2Col.gather(g, input: input, inputPixelStride: lda,
                                  pixels: (rows.lowerBound + part.lowerBound)..<(rows.lowerBound + part.upperBound),
                                  columns: columns + part.lowerBound &* k)
                }
                a = UnsafePointer(columns)
                ldaGEMM = k
            }
            GEMM.multiply(m: rows.count, n: g.outputChannels, k: g.inputChannels * g.kernelSize * g.kernelSize,
                          a: a, lda: ldaGEMM, b: kernel, ldb: g.outputChannels,
                          c: output + rows.lowerBound &* ldc, ldc: ldc, beta: beta)
            applyEpilogue(rows: rows, output: output, ldc: ldc, channels: g.outputChannels,
                          bias: bias, relu: epilogue.relu, threads: threads)
        }
        if workers == 1 {
            // OpenBLAS threads each GEMM; im2col and epilogue are spread with Parallel.
            let rowsPerChunk = g.isPointwise ? total : min(scratch.count / k, total)
            var start = 0
            while start < total {
                let end = min(start + rowsPerChunk, total)
                chunk(start..<end, columns: scratch.baseAddress, columnRows: rowsPerChunk, threads: threads)
                start = end
            }
            return
        }
        // Worker-level parallelism (OpenBLAS at 1 thread): each worker owns a slice of the scratch and
        // processes chunks w, w + workers, … — no BLAS threads spinning while im2col runs.
        let slice = g.isPointwise ? 0 : scratch.count / workers
        let rowsPerChunk = g.isPointwise ? (total + workers - 1) / workers : min(max(slice / k, 1), (total + workers - 1) / workers)
        precondition(g.isPointwise || slice >= k, "\(g): scratch too small for \(workers) workers")
        let chunks = (total + rowsPerChunk - 1) / rowsPerChunk
        let base = scratch.baseAddress  // nil is fine for a pointwise convolution (no im2col)
        Parallel.forWorkers(workers) { w in
            var c = w
            while c < chunks {
                let start = c * rowsPerChunk
                chunk(start..<min(start + rowsPerChunk, total), columns: base.map { $0 + w &* slice },
                      columnRows: g.isPointwise ? 0 : slice / k, threads: 1)
                c += workers
            }
        }
    }

    /// bias add and/or ReLU over output rows (no-op when neither is requested).
    static func applyEpilogue(
        rows: Range<Int>, output: UnsafeMutablePointer<Float>, ldc: Int, channels: Int,
        bias: UnsafePointer<Float>?, relu: Bool, threads: Int
    ) {
        if bias == nil && !relu { return }
        Parallel.forRanges(rows.count, threads: threads, minimumChunk: max(1, 16_384 / max(channels, 1))) { part in
            for r in part {
                let row = output + (rows.lowerBound &+ r) &* ldc
                if let bias {
                    if relu {
                        for o in 0..<channels { row[o] = max(row[o] + bias[o], 0) }
                    } else {
                        for o in 0..<channels { row[o] += bias[o] }
                    }
                } else {
                    for o in 0..<channels { row[o] = max(row[o], 0) }
                }
            }
        }
    }

    /// Allocating convenience: `input` NHWC, `kernel` HWIO `[k, k, Cin, Cout]`, optional bias, TF 'same'.
    /// 3×3 stride-1 convolutions take the Winograd path `algorithm` selects (the kernel is transformed on
    /// every call: one small GEMM); the trainer's forward and input-gradient convolutions come through here.
    public static func forward(_ input: Tensor, kernel: FloatTensor, bias: [Float]? = nil, stride: Int = 1,
                               epilogue: ConvolutionEpilogue = .none, algorithm: ConvolutionAlgorithm = .automatic,
                               threads: Int = 1) -> Tensor {
        precondition(kernel.shape.count == 4 && kernel.shape[0] == kernel.shape[1],
                     "conv kernel must be [k, k, in, out], got \(kernel.shape)")
        precondition(kernel.shape[2] == input.shape.channels,
                     "kernel \(kernel.shape) expects \(kernel.shape[2]) input channels, tensor has \(input.shape)")
        precondition(bias == nil || bias!.count == kernel.shape[3], "bias length must equal Cout")
        let g = ConvolutionGeometry(batch: input.shape.batch, height: input.shape.height, width: input.shape.width,
                                    inputChannels: kernel.shape[2], outputChannels: kernel.shape[3],
                                    kernelSize: kernel.shape[0], stride: stride)
        var out = Tensor(shape: g.outputShape)
        if let variant = algorithm.winogradVariant(for: g) {
            let wk = WinogradKernel.make(variant: variant, kernel: kernel.values, inputChannels: g.inputChannels,
                                         outputChannels: g.outputChannels)
            let workers = max(threads, 1)
            let scratch = AlignedBuffer(count: WinogradConv2D.scratchCount(g, variant: variant, workers: workers))
            input.values.withUnsafeBufferPointer { x in
                out.values.withUnsafeMutableBufferPointer { y in
                    withOptionalPointer(bias) { b in
                        WinogradConv2D.forward(g, input: x.baseAddress!, kernel: wk, bias: b, output: y.baseAddress!,
                                               epilogue: epilogue, scratch: scratch.buffer, threads: workers)
                    }
                }
            }
            return out
        }
        let scratch = AlignedBuffer(count: max(preferredScratchCount(g), 1))
        input.values.withUnsafeBufferPointer { x in
            kernel.values.withUnsafeBufferPointer { w in
                out.values.withUnsafeMutableBufferPointer { y in
                    if let bias {
                        bias.withUnsafeBufferPointer { b in
                            forward(g, input: x.baseAddress!, kernel: w.baseAddress!, bias: b.baseAddress!,
                                    output: y.baseAddress!, epilogue: epilogue, scratch: scratch.buffer, threads: threads)
                        }
                    } else {
                        forward(g, input: x.baseAddress!, kernel: w.baseAddress!, bias: nil,
                                output: y.baseAddress!, epilogue: epilogue, scratch: scratch.buffer, threads: threads)
                    }
                }
            }
        }
        return out
    }
}

/// `body(pointer to values)` or `body(nil)`: optional bias vectors.
@inline(__always)
func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    if let values { return values.withUnsafeBufferPointer { body($0.baseAddress!) } }
    return body(nil)
}
