import CheckpointImport

/// Indices (into the parameter list of `ModelArchitecture.parameterSpecs`) of one batch norm's variables.
struct BatchNormSlots {
    var name: String
    var gamma: Int, beta: Int, movingMean: Int, movingVariance: Int
}

struct ResidualBlockSlots {
    var batchNorm1: BatchNormSlots
    var projection: Int?
    var convolution1: Int
    var batchNorm2: BatchNormSlots
    var convolution2: Int
    var outputChannels: Int
}

struct EncoderLevelSlots {
    /// Downsampling convolution (kernel, bias) for levels ≥ 2.
    var downsampling: (kernel: Int, bias: Int)?
    var blocks: [ResidualBlockSlots]
}

struct DecoderLevelSlots {
    var level: Int
    var upsampling: (kernel: Int, bias: Int)
    var blocks: [ResidualBlockSlots]
}

/// The U-Net's structure resolved to parameter indices, built from the same names the checkpoint uses, so
/// the training graph and `ModelArchitecture.parameterSpecs` cannot disagree.
struct NetworkLayout {
    var specs: [ParameterSpec]
    var firstConvolution: Int
    var encoder: [EncoderLevelSlots]
    var bottom: [ResidualBlockSlots]
    var decoder: [DecoderLevelSlots]
    var outputBatchNorm: BatchNormSlots
    var outputConvolution: Int
    var architecture: ModelArchitecture

    /// Every batch norm in forward order (the order of statistics in a pass).
    var batchNorms: [BatchNormSlots] {
        var all: [BatchNormSlots] = []
        func add(_ blocks: [ResidualBlockSlots]) { for b in blocks { all += [b.batchNorm1, b.batchNorm2] } }
        for level in encoder { add(level.blocks) }
        add(bottom)
        for level in decoder { add(level.blocks) }
        return all + [outputBatchNorm]
    }

    init(architecture: ModelArchitecture) throws(ArchitectureError) {
        try architecture.validate()
        self.architecture = architecture
        specs = architecture.parameterSpecs
        var index: [String: Int] = [:]
        for (i, spec) in specs.enumerated() { index[spec.name] = i }
        func slot(_ name: String) -> Int {
            guard let i = index[name] else { preconditionFailure("parameterSpecs has no '\(name)'") }
            return i
        }
        func batchNorm(_ scope: String) -> BatchNormSlots {
            BatchNormSlots(name: String(scope.dropFirst(ModelArchitecture.scope.count + 1)),
                           gamma: slot("\(scope)/gamma"), beta: slot("\(scope)/beta"),
                           movingMean: slot("\(scope)/moving_mean"), movingVariance: slot("\(scope)/moving_variance"))
        }
        func residual(_ scope: String, output: Int) -> ResidualBlockSlots {
            ResidualBlockSlots(
                batchNorm1: batchNorm("\(scope)/batch_norm_1"),
                projection: index["\(scope)/projection_shortcut/kernel"],
                convolution1: slot("\(scope)/convolution_1/kernel"),
                batchNorm2: batchNorm("\(scope)/batch_norm_2"),
                convolution2: slot("\(scope)/convolution_2/kernel"), outputChannels: output)
        }
        let s = ModelArchitecture.scope
        firstConvolution = slot("\(s)/first_convolution/kernel")
        encoder = (1...architecture.depth).map { level in
            let scope = "\(s)/encoding_block_\(level)"
            let down = level > 1
                ? (kernel: slot("\(scope)/downsampling/convolution/kernel"), bias: slot("\(scope)/downsampling/convolution/bias"))
                : nil
            let blocks = (0..<architecture.encodingBlockSizes[level - 1]).map {
                residual("\(scope)/res_\($0)", output: architecture.filters(atLevel: level))
            }
            return EncoderLevelSlots(downsampling: down, blocks: blocks)
        }
        bottom = (0..<architecture.bottomBlockSize).map {
            residual("\(s)/bottom_block/block_\($0)", output: architecture.filters(atLevel: architecture.depth))
        }
        decoder = stride(from: architecture.depth - 1, through: 1, by: -1).map { level in
            let scope = "\(s)/decoding_block_\(level)"
            return DecoderLevelSlots(
                level: level,
                upsampling: (kernel: slot("\(scope)/upsampling/transposed_convolution/kernel"),
                             bias: slot("\(scope)/upsampling/transposed_convolution/bias")),
                blocks: (0..<architecture.decodingBlockSizes[level - 1]).map {
                    residual("\(scope)/res_\($0)", output: architecture.filters(atLevel: level))
                })
        }
        outputBatchNorm = batchNorm("\(s)/unet_out")
        outputConvolution = slot("\(s)/out_conv/kernel")
    }
}
