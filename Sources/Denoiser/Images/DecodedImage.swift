/// A decoded image file: colour samples at the file's bit depth, with the alpha plane kept apart so that
/// denoising never touches it and writing puts it back unchanged.
public struct DecodedImage: Sendable, Equatable {
    /// The format the image was read from (and is written back as by the pipeline).
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    /// 1 (gray) or 3 (RGB).
    public var colorChannels: Int
    /// Colour samples, interleaved HWC, `height · width · colorChannels` of them.
    public var samples: ImageSamples
    /// The alpha plane (`height · width` samples at the same bit depth), or nil.
    public var alpha: ImageSamples?
    /// The file was a palette PNG. Its pixels were expanded to RGB(A) 8-bit on reading; writing produces
    /// an RGB(A) 8-bit PNG (denoised colours are no longer confined to the palette).
    public var wasPalette: Bool
    /// JPEG only: the input's EXIF and ICC segments, written back unchanged when the image is written as
    /// JPEG (orientation and colour profile stay with the pixels). Empty for PNG.
    public var carriedSegments: [JPEGSegment]
    /// PNG only: the input's colour-space and pixel-size chunks, written back unchanged when the image is
    /// written as PNG. Empty for JPEG.
    public var carriedChunks: [PNGChunk]

    public init(format: ImageFormat, width: Int, height: Int, colorChannels: Int, samples: ImageSamples,
                alpha: ImageSamples? = nil, wasPalette: Bool = false, carriedSegments: [JPEGSegment] = [],
                carriedChunks: [PNGChunk] = []) {
        precondition(width > 0 && height > 0, "image must not be empty (\(width)×\(height))")
        precondition(colorChannels == 1 || colorChannels == 3, "colour channels must be 1 or 3, got \(colorChannels)")
        precondition(samples.count == width * height * colorChannels,
                     "\(samples.count) samples do not fill \(width)×\(height)×\(colorChannels)")
        if let alpha {
            precondition(alpha.count == width * height, "alpha plane has \(alpha.count) samples, not \(width * height)")
            precondition(alpha.bitDepth == samples.bitDepth, "alpha and colour samples must share a bit depth")
        }
        self.format = format
        self.width = width
        self.height = height
        self.colorChannels = colorChannels
        self.samples = samples
        self.alpha = alpha
        self.wasPalette = wasPalette
        self.carriedSegments = carriedSegments
        self.carriedChunks = carriedChunks
    }

    /// 8 or 16.
    public var bitDepth: Int { samples.bitDepth }
    public var hasAlpha: Bool { alpha != nil }
    public var pixelCount: Int { width * height }
    /// Interleaved channels in the file, alpha included.
    public var channels: Int { colorChannels + (hasAlpha ? 1 : 0) }
    /// The largest sample value: 255 or 65535.
    public var maxSampleValue: Int { (1 << bitDepth) - 1 }
}
