import CheckpointImport

/// A convolution ready to run: kernel (HWIO, possibly with a batch norm folded in), optional bias, algorithm.
struct PlannedConvolution: Sendable {
    let name: String
    let kernelSize: Int
    let stride: Int
    let inputChannels: Int
    let outputChannels: Int
    let kernel: AlignedBuffer
    let bias: AlignedBuffer?
    var algorithm: ConvolutionAlgorithm
    /// Kernel in the Winograd domain for each variant the algorithm may pick (the choice depends only on
    /// the channel counts, so at most one is built), computed once when the network is planned.
    let winogradKernels: [WinogradVariant: WinogradKernel]
    /// The kernel packed for `PackedGEMM` when this layer runs im2col/1×1 GEMMs (no Winograd kernel) and
    /// has ≥ 16 output channels (narrower layers, i.e. `out_conv`, would mostly multiply padding: they keep
    /// `cblas_sgemm`).
    let packedKernel: PackedMatrix?

    init(name: String, kernelSize: Int, stride: Int, inputChannels: Int, outputChannels: Int,
         kernel: AlignedBuffer, bias: AlignedBuffer?, algorithm: ConvolutionAlgorithm) {
        self.name = name
        self.kernelSize = kernelSize
        self.stride = stride
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernel = kernel
        self.bias = bias
        self.algorithm = algorithm
        let probe = ConvolutionGeometry(height: 8, width: 8, inputChannels: inputChannels, outputChannels: outputChannels,
                                        kernelSize: kernelSize, stride: stride)
        if let v = algorithm.winogradVariant(for: probe) {
            winogradKernels = [v: WinogradKernel(variant: v, kernel: kernel.pointer, inputChannels: inputChannels,
                                                 outputChannels: outputChannels)]
        } else {
            winogradKernels = [:]
        }
        packedKernel = winogradKernels.isEmpty && outputChannels >= WinogradGEMM.panelWidth
            ? PackedMatrix(rows: kernelSize * kernelSize * inputChannels, columns: outputChannels, source: kernel.pointer)
            : nil
    }

    /// The Winograd kernel this convolution runs with for `g`, or nil for im2col.
    func winograd(_ g: ConvolutionGeometry) -> WinogradKernel? {
        algorithm.winogradVariant(for: g).flatMap { winogradKernels[$0] }
    }

    /// Scratch (floats) for running over `g` with `workers` workers.
    func scratchCount(_ g: ConvolutionGeometry, workers: Int, chunkBytes: Int) -> Int {
        if let wk = winograd(g) { return WinogradConv2D.scratchCount(g, variant: wk.variant, workers: workers) }
        return Conv2D.preferredScratchCount(g, chunkBytes: chunkBytes)
    }

    func geometry(batch: Int, height: Int, width: Int) -> ConvolutionGeometry {
        ConvolutionGeometry(batch: batch, height: height, width: width, inputChannels: inputChannels,
                            outputChannels: outputChannels, kernelSize: kernelSize, stride: stride)
    }

    func run(batch: Int, height: Int, width: Int, input: UnsafePointer<Float>, inputPixelStride: Int? = nil,
             output: UnsafeMutablePointer<Float>, epilogue: ConvolutionEpilogue,
             scratch: UnsafeMutableBufferPointer<Float>, threads: Int, secondary: AffineOutput? = nil) {
        let g = geometry(batch: batch, height: height, width: width)
        if let wk = winograd(g) {
            WinogradConv2D.forward(g, input: input, inputPixelStride: inputPixelStride, kernel: wk, bias: bias?.pointer,
                                   output: output, epilogue: epilogue, scratch: scratch, threads: threads)
            secondary?.apply(pixels: 0..<g.outputPixelCount, source: output, sourceStride: outputChannels,
                             channels: outputChannels, threads: threads)
        } else {
            Conv2D.forward(g, input: input, inputPixelStride: inputPixelStride, kernel: kernel.pointer,
                           bias: bias?.pointer, output: output, epilogue: epilogue, scratch: scratch, threads: threads,
                           packedKernel: packedKernel, secondary: secondary)
        }
    }
}

/// Transposed 2×2/2 convolution with the following batch norm + ReLU folded in (see `DecoderLevel`).
struct PlannedTransposedConvolution: Sendable {
    let name: String
    let inputChannels: Int
    let outputChannels: Int
    let kernel: AlignedBuffer  // [2, 2, Cout, Cin]
    let bias: AlignedBuffer
    let relu: Bool
    /// `kernel` read as `[4·Cout, Cin]` and transposed: the B operand of the GEMM, packed once.
    let packedKernel: PackedMatrix

    init(name: String, inputChannels: Int, outputChannels: Int, kernel: AlignedBuffer, bias: AlignedBuffer, relu: Bool) {
        self.name = name
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernel = kernel
        self.bias = bias
        self.relu = relu
        packedKernel = PackedMatrix(rows: inputChannels, columns: 4 * outputChannels, source: kernel.pointer, transposed: true)
    }
}

/// Per-channel `scale·x + shift` (an inference batch norm), then ReLU.
struct PlannedAffine: Sendable {
    let name: String
    let channels: Int
    let scale: AlignedBuffer
    let shift: AlignedBuffer
}

/// Pre-activation residual block (reference-model.md §1.3) prepared for inference:
/// `a = relu(bn1(x))`; shortcut = x (identity) or `conv1×1(a)` (projection);
/// `h = relu(bn2(conv3×3(a)))` with bn2 folded into `conv1`; `out = shortcut + conv3×3(h)`.
struct ResidualBlockLayers: Sendable {
    let inputChannels: Int
    let outputChannels: Int
    /// nil when the producer already wrote `relu(bn1(x))` (first decoder block: fused into the concat).
    let bn1: PlannedAffine?
    let projection: PlannedConvolution?
    let conv1: PlannedConvolution
    let conv2: PlannedConvolution
}

struct EncoderLevel: Sendable {
    let level: Int
    let channels: Int
    /// `first_convolution` at level 1, else the 2×2/2 `downsampling/convolution`.
    let entry: PlannedConvolution
    let blocks: [ResidualBlockLayers]
}

/// One decoding level. The concat `[upsampled, skip]` only ever feeds the first block's `relu(bn1(·))`, so
/// the engine never materialises the raw concat: bn1's first half is folded into the transposed conv
/// (+ReLU epilogue) writing channels `0..<c`, and bn1's second half + ReLU is applied while copying the
/// skip into channels `c..<2c`.
struct DecoderLevel: Sendable {
    let level: Int
    let channels: Int
    let upsample: PlannedTransposedConvolution
    let skipAffine: PlannedAffine
    let blocks: [ResidualBlockLayers]
}

/// The whole U-Net, built from TF-named weights, with every batch norm turned into an affine map and
/// folded where that is exact in real arithmetic.
struct UNetLayers: Sendable {
    let architecture: ModelArchitecture
    let encoder: [EncoderLevel]
    let bottom: [ResidualBlockLayers]
    /// Deepest first (level depth−1 … 1), the order they run in.
    let decoder: [DecoderLevel]
    let head: PlannedAffine
    let outConv: PlannedConvolution
    /// `out_conv`'s kernel transposed to `[Cout, C]` for `AffineReLUProjection` (head and out_conv in one pass).
    let outProjection: AlignedBuffer
    /// Workers a pass uses (sizes the per-worker Winograd scratch).
    let threads: Int

    init(weights: ModelWeights, options: EngineOptions) throws {
        let arch = weights.architecture
        do {
            try arch.validate()
            try weights.validate()
        } catch let error as ArchitectureError {
            throw InferenceError.invalidModel(error.description)
        } catch let error as ModelWeightsError {
            throw InferenceError.invalidModel(error.description)
        }
        architecture = arch
        threads = options.threads
        let s = ModelArchitecture.scope
        let eps = options.batchNormEpsilon
        func values(_ name: String) throws -> [Float] {
            do { return try weights.parameter(name).values } catch { throw InferenceError.invalidModel(error.description) }
        }
        func buffer(_ v: [Float]) -> AlignedBuffer {
            let b = AlignedBuffer(count: v.count)
            v.withUnsafeBufferPointer { b.pointer.update(from: $0.baseAddress!, count: v.count) }
            return b
        }
        func affine(_ scope: String) throws -> ChannelAffine {
            try BatchNormParameters(gamma: values("\(scope)/gamma"), beta: values("\(scope)/beta"),
                                    movingMean: values("\(scope)/moving_mean"),
                                    movingVariance: values("\(scope)/moving_variance"), epsilon: eps).affine()
        }
        func planned(_ scope: String, _ a: ChannelAffine) -> PlannedAffine {
            PlannedAffine(name: scope, channels: a.channels, scale: buffer(a.scale), shift: buffer(a.shift))
        }
        func conv(_ scope: String, k: Int, stride: Int = 1, cin: Int, cout: Int, bias: Bool = false,
                  foldingOutput fold: ChannelAffine? = nil) throws -> PlannedConvolution {
            var kernel = try values("\(scope)/kernel")
            var b: [Float]? = bias ? try values("\(scope)/bias") : nil
            if let fold { (kernel, b) = { let r = fold.foldIntoConvolution(kernel: kernel, bias: b); return (r.kernel, r.bias) }() }
            return PlannedConvolution(name: scope, kernelSize: k, stride: stride, inputChannels: cin, outputChannels: cout,
                                      kernel: buffer(kernel), bias: b.map(buffer),
                                      algorithm: k == 3 ? options.convolutionAlgorithm : .im2colGEMM)
        }
        func residual(_ scope: String, cin: Int, cout: Int, bn1Fused: Bool) throws -> ResidualBlockLayers {
            let bn1 = bn1Fused ? nil : planned("\(scope)/batch_norm_1", try affine("\(scope)/batch_norm_1"))
            let projection = cin == cout ? nil
                : try conv("\(scope)/projection_shortcut", k: 1, cin: cin, cout: cout)
            let conv1 = try conv("\(scope)/convolution_1", k: 3, cin: cin, cout: cout,
                                 foldingOutput: try affine("\(scope)/batch_norm_2"))
            let conv2 = try conv("\(scope)/convolution_2", k: 3, cin: cout, cout: cout)
            return ResidualBlockLayers(inputChannels: cin, outputChannels: cout, bn1: bn1, projection: projection,
                                       conv1: conv1, conv2: conv2)
        }

        var encoder: [EncoderLevel] = []
        for level in 1...arch.depth {
            let c = arch.filters(atLevel: level)
            let entry = level == 1
                ? try conv("\(s)/first_convolution", k: 3, cin: arch.inputChannels, cout: c)
                : try conv("\(s)/encoding_block_\(level)/downsampling/convolution", k: 2, stride: 2,
                           cin: arch.filters(atLevel: level - 1), cout: c, bias: true)
            let blocks = try (0..<arch.encodingBlockSizes[level - 1]).map {
                try residual("\(s)/encoding_block_\(level)/res_\($0)", cin: c, cout: c, bn1Fused: false)
            }
            encoder.append(EncoderLevel(level: level, channels: c, entry: entry, blocks: blocks))
        }
        self.encoder = encoder
        let bottomWidth = arch.filters(atLevel: arch.depth)
        bottom = try (0..<arch.bottomBlockSize).map {
            try residual("\(s)/bottom_block/block_\($0)", cin: bottomWidth, cout: bottomWidth, bn1Fused: false)
        }
        var decoder: [DecoderLevel] = []
        if arch.depth > 1 {
            for level in stride(from: arch.depth - 1, through: 1, by: -1) {
                let c = arch.filters(atLevel: level)
                let scope = "\(s)/decoding_block_\(level)"
                let bn1 = try affine("\(scope)/res_0/batch_norm_1")  // 2c channels: [upsampled | skip]
                let upper = ChannelAffine(scale: Array(bn1.scale[0..<c]), shift: Array(bn1.shift[0..<c]))
                let lower = ChannelAffine(scale: Array(bn1.scale[c...]), shift: Array(bn1.shift[c...]))
                let tname = "\(scope)/upsampling/transposed_convolution"
                let cinUp = arch.filters(atLevel: level + 1)
                let folded = upper.foldIntoTransposedConvolution(
                    kernel: try values("\(tname)/kernel"), bias: try values("\(tname)/bias"), inputChannels: cinUp)
                let up = PlannedTransposedConvolution(name: tname, inputChannels: cinUp, outputChannels: c,
                                                      kernel: buffer(folded.kernel), bias: buffer(folded.bias), relu: true)
                let blocks = try (0..<arch.decodingBlockSizes[level - 1]).map {
                    try residual("\(scope)/res_\($0)", cin: $0 == 0 ? 2 * c : c, cout: c, bn1Fused: $0 == 0)
                }
                decoder.append(DecoderLevel(level: level, channels: c, upsample: up,
                                            skipAffine: planned("\(scope)/res_0/batch_norm_1[\(c)...]", lower),
                                            blocks: blocks))
            }
        }
        self.decoder = decoder
        head = planned("\(s)/unet_out", try affine("\(s)/unet_out"))
        outConv = try conv("\(s)/out_conv", k: 1, cin: arch.baseFilters, cout: arch.inputChannels)
        let (c, o) = (arch.baseFilters, arch.inputChannels)
        outProjection = AlignedBuffer(count: c * o)
        for ci in 0..<c { for oi in 0..<o { outProjection.pointer[oi * c + ci] = outConv.kernel.pointer[ci * o + oi] } }
    }
}
