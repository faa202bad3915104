/// Caps that protect memory against hostile or accidental giant files. They are checked on the header,
/// before any pixel buffer exists.
public struct ImageLimits: Sendable, Equatable, Codable {
    /// Width × height cap. Default 2^27 ≈ 134 megapixels: above the largest common camera sensors
    /// (≈ 102 MP medium format), and what a 2-core / 24 GB box can afford: a 134 MP RGBA 16-bit image
    /// costs ≈ 1 GB of samples + 1.6 GB of float input + 1.6 GB of float output while it is denoised.
    public var maxPixels: Int
    /// File size cap. Default 1 GiB: a 134 MP RGBA 16-bit PNG stored uncompressed is ≈ 1.07 GB, so no
    /// legitimate file under the pixel cap comes near it.
    public var maxFileBytes: Int64

    public init(maxPixels: Int = 1 << 27, maxFileBytes: Int64 = 1 << 30) {
        precondition(maxPixels > 0 && maxFileBytes > 0, "limits must be positive")
        self.maxPixels = maxPixels
        self.maxFileBytes = maxFileBytes
    }

    public static let `default` = ImageLimits()
}
