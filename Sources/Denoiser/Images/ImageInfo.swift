/// What an image file's header says, read without decoding any pixel (`ImageCodec.probe`).
public struct ImageInfo: Sendable, Equatable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    /// Colour channels as decoded: 1 (gray) or 3 (RGB; palette images expand to RGB).
    public var colorChannels: Int
    /// Whether the decoded image has an alpha channel (PNG alpha, or a PNG tRNS chunk turned into alpha).
    public var hasAlpha: Bool
    /// Bits per decoded sample: 8 or 16 (1/2/4-bit gray and palette images decode to 8).
    public var bitDepth: Int
    /// Bits per sample as stored in the file.
    public var fileBitDepth: Int
    /// The file is a palette (indexed-colour) PNG.
    public var isPalette: Bool
    /// Adam7-interlaced PNG or progressive JPEG.
    public var isInterlaced: Bool

    public init(format: ImageFormat, width: Int, height: Int, colorChannels: Int, hasAlpha: Bool, bitDepth: Int,
                fileBitDepth: Int, isPalette: Bool = false, isInterlaced: Bool = false) {
        self.format = format
        self.width = width
        self.height = height
        self.colorChannels = colorChannels
        self.hasAlpha = hasAlpha
        self.bitDepth = bitDepth
        self.fileBitDepth = fileBitDepth
        self.isPalette = isPalette
        self.isInterlaced = isInterlaced
    }

    public var pixelCount: Int { width * height }
    /// Interleaved channels as decoded, alpha included.
    public var channels: Int { colorChannels + (hasAlpha ? 1 : 0) }
}
