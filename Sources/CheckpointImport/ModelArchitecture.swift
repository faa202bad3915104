/// The Noise2Same U-Net configuration (`conf_unet` of the reference, 2-D only).
///
/// The paper model is depth 3, 96 base filters, 1 input channel, encoding blocks [1, 1, 0] and
/// decoding blocks [1, 1] (`../shared/spec/reference-model.md` §1.1). Level `i` (1-based) has
/// `baseFilters · 2^(i-1)` channels; the bottom block runs at the deepest level's width.
public struct ModelArchitecture: Codable, Sendable, Equatable, CustomStringConvertible {
    public var depth: Int
    public var baseFilters: Int
    public var inputChannels: Int
    /// Residual blocks per encoding level (`encoding_block_1 …`), `depth` entries.
    public var encodingBlockSizes: [Int]
    /// Residual blocks per decoding level (`decoding_block_1 …`), `depth - 1` entries.
    public var decodingBlockSizes: [Int]
    /// Residual blocks in `bottom_block`.
    public var bottomBlockSize: Int

    public init(
        depth: Int = 3, baseFilters: Int = 96, inputChannels: Int = 1,
        encodingBlockSizes: [Int]? = nil, decodingBlockSizes: [Int]? = nil, bottomBlockSize: Int = 1
    ) {
        self.depth = depth
        self.baseFilters = baseFilters
        self.inputChannels = inputChannels
        self.encodingBlockSizes = encodingBlockSizes ?? ([Int](repeating: 1, count: max(depth - 1, 0)) + [0])
        self.decodingBlockSizes = decodingBlockSizes ?? [Int](repeating: 1, count: max(depth - 1, 0))
        self.bottomBlockSize = bottomBlockSize
    }

    /// The paper configuration (5,563,680 trainable parameters for one channel).
    public static let paper = ModelArchitecture()

    /// Channel width at level `level` (1-based; level `depth` is also the bottom block's width).
    public func filters(atLevel level: Int) -> Int { baseFilters << (level - 1) }

    /// Inference pads each spatial axis to a multiple of this (the reference uses 2^depth).
    public var paddingMultiple: Int { 1 << depth }

    public var description: String {
        "depth \(depth), \(baseFilters) base filters, \(inputChannels) channel\(inputChannels == 1 ? "" : "s"), "
            + "encoding blocks \(encodingBlockSizes), decoding blocks \(decodingBlockSizes), bottom \(bottomBlockSize)"
    }

    /// Checks that the configuration describes a buildable network.
    public func validate() throws(ArchitectureError) {
        guard depth >= 1, depth <= 8 else { throw .invalid("depth must be 1…8, got \(depth)") }
        guard baseFilters >= 1, baseFilters <= 4096 else { throw .invalid("base filters must be 1…4096, got \(baseFilters)") }
        guard inputChannels >= 1, inputChannels <= 4 else { throw .invalid("input channels must be 1…4, got \(inputChannels)") }
        guard encodingBlockSizes.count == depth else {
            throw .invalid("encoding block sizes \(encodingBlockSizes) must have \(depth) entries")
        }
        guard decodingBlockSizes.count == depth - 1 else {
            throw .invalid("decoding block sizes \(decodingBlockSizes) must have \(depth - 1) entries")
        }
        guard decodingBlockSizes.allSatisfy({ $0 >= 1 }) else {
            throw .invalid("every decoding level needs at least one residual block (the concat widens the channels)")
        }
        guard (encodingBlockSizes + [bottomBlockSize]).allSatisfy({ $0 >= 0 }) else {
            throw .invalid("block sizes must not be negative")
        }
    }
}

public enum ArchitectureError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let why): "invalid architecture: \(why)" }
    }
}
