/// The variables of a Noise2Same U-Net, by their TensorFlow names and shapes.
///
/// This is the single source of truth that ties the TF checkpoint (`main_unet/...` scopes, see
/// `../shared/spec/reference-model.md` §2) to the native model: the importer checks a checkpoint against
/// it, the engine builds layers from it, and the exporter writes it back.
public struct ParameterSpec: Sendable, Equatable {
    public enum Role: String, Sendable, Codable {
        case kernel, bias, gamma, beta, movingMean, movingVariance
        /// Trained by the optimizer (and so has Adam slots); moving statistics are not.
        public var isTrainable: Bool { self != .movingMean && self != .movingVariance }
    }
    public var name: String
    public var shape: [Int]
    public var role: Role
    public var count: Int { shape.reduce(1, *) }
}

extension ModelArchitecture {
    public static let scope = "main_unet"

    /// Every variable of the network in build order (first convolution → out_conv), including batch-norm
    /// moving statistics. Names are full TF names, e.g. `main_unet/encoding_block_1/res_0/batch_norm_1/gamma`.
    public var parameterSpecs: [ParameterSpec] {
        var specs: [ParameterSpec] = []
        let s = Self.scope
        func conv(_ scope: String, _ shape: [Int], bias: Bool = false) {
            specs.append(.init(name: "\(scope)/kernel", shape: shape, role: .kernel))
            if bias { specs.append(.init(name: "\(scope)/bias", shape: [shape[3]], role: .bias)) }
        }
        func transposed(_ scope: String, input: Int, output: Int) {
            // conv2d_transpose kernels are [kh, kw, out, in]
            specs.append(.init(name: "\(scope)/kernel", shape: [2, 2, output, input], role: .kernel))
            specs.append(.init(name: "\(scope)/bias", shape: [output], role: .bias))
        }
        func batchNorm(_ scope: String, _ channels: Int) {
            specs.append(.init(name: "\(scope)/gamma", shape: [channels], role: .gamma))
            specs.append(.init(name: "\(scope)/beta", shape: [channels], role: .beta))
            specs.append(.init(name: "\(scope)/moving_mean", shape: [channels], role: .movingMean))
            specs.append(.init(name: "\(scope)/moving_variance", shape: [channels], role: .movingVariance))
        }
        func residual(_ scope: String, input: Int, output: Int) {
            batchNorm("\(scope)/batch_norm_1", input)
            if input != output { conv("\(scope)/projection_shortcut", [1, 1, input, output]) }
            conv("\(scope)/convolution_1", [3, 3, input, output])
            batchNorm("\(scope)/batch_norm_2", output)
            conv("\(scope)/convolution_2", [3, 3, output, output])
        }

        conv("\(s)/first_convolution", [3, 3, inputChannels, baseFilters])
        for level in 1...depth {
            let width = filters(atLevel: level)
            if level > 1 {
                conv("\(s)/encoding_block_\(level)/downsampling/convolution",
                     [2, 2, filters(atLevel: level - 1), width], bias: true)
            }
            for block in 0..<encodingBlockSizes[level - 1] {
                residual("\(s)/encoding_block_\(level)/res_\(block)", input: width, output: width)
            }
        }
        let bottom = filters(atLevel: depth)
        for block in 0..<bottomBlockSize {
            residual("\(s)/bottom_block/block_\(block)", input: bottom, output: bottom)
        }
        if depth > 1 {
            for level in stride(from: depth - 1, through: 1, by: -1) {
                let width = filters(atLevel: level)
                transposed("\(s)/decoding_block_\(level)/upsampling/transposed_convolution",
                           input: filters(atLevel: level + 1), output: width)
                for block in 0..<decodingBlockSizes[level - 1] {
                    // the first block sees concat([upsampled, skip]) = 2·width channels
                    residual("\(s)/decoding_block_\(level)/res_\(block)", input: block == 0 ? 2 * width : width, output: width)
                }
            }
        }
        batchNorm("\(s)/unet_out", baseFilters)
        conv("\(s)/out_conv", [1, 1, baseFilters, inputChannels])
        return specs
    }

    /// Number of trainable parameters (the paper model: 5,563,680).
    public var trainableParameterCount: Int {
        parameterSpecs.filter { $0.role.isTrainable }.reduce(0) { $0 + $1.count }
    }
}
