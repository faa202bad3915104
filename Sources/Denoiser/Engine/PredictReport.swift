/// What one `predict` did, for provenance (the daemon records it next to each output).
public struct PredictReport: Sendable, Equatable, Codable {
    /// Normalisation statistics per denoised channel (one per image channel for a 1-channel model run
    /// channel by channel; one per model channel for a multi-channel model).
    public var statistics: [ChannelStatistics]
    public var paddedHeight: Int
    public var paddedWidth: Int
    public var tileHeight: Int
    public var tileWidth: Int
    /// Tiles per network pass (1 = the whole padded image in one pass).
    public var tilesPerPass: Int
    /// Network passes (colour channels through a 1-channel model each need one).
    public var passes: Int
    /// Planned engine memory (activations + scratch) of one tile, bytes.
    public var workspaceBytes: Int
    /// Wall time of the whole predict call.
    public var seconds: Double

    public var tilesUsed: Int { tilesPerPass * passes }
    public var means: [Float] { statistics.map(\.mean) }
    public var stds: [Float] { statistics.map(\.std) }
}
