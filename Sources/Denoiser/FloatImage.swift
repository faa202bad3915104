/// An image as the numeric core sees it: `height × width × channels` float32 samples, interleaved (HWC),
/// row-major, in the image's own scale (0…255 for 8-bit, 0…65535 for 16-bit, or whatever a float file holds).
///
/// This is the hand-off type between the image codecs (which decode files into it) and the inference
/// engine (whose `predict` takes and returns it, with the reference's normalization inside).
public struct FloatImage: Sendable, Equatable {
    public var height: Int
    public var width: Int
    public var channels: Int
    /// `height · width · channels` samples, HWC order.
    public var pixels: [Float]

    public init(height: Int, width: Int, channels: Int, pixels: [Float]) {
        precondition(height >= 0 && width >= 0 && channels >= 1, "bad image size \(height)×\(width)×\(channels)")
        precondition(pixels.count == height * width * channels,
                     "\(pixels.count) samples do not fill \(height)×\(width)×\(channels)")
        self.height = height
        self.width = width
        self.channels = channels
        self.pixels = pixels
    }

    public init(height: Int, width: Int, channels: Int, repeating value: Float = 0) {
        self.init(height: height, width: width, channels: channels,
                  pixels: [Float](repeating: value, count: height * width * channels))
    }

    public var pixelCount: Int { height * width }

    /// One channel as its own single-channel image (used to denoise colour channels independently).
    public func channel(_ index: Int) -> FloatImage {
        precondition(index >= 0 && index < channels)
        if channels == 1 { return self }
        var plane = [Float](repeating: 0, count: pixelCount)
        for i in 0..<pixelCount { plane[i] = pixels[i * channels + index] }
        return FloatImage(height: height, width: width, channels: 1, pixels: plane)
    }

    /// Writes a single-channel image into channel `index` of this one.
    public mutating func setChannel(_ index: Int, from plane: FloatImage) {
        precondition(plane.channels == 1 && plane.height == height && plane.width == width)
        for i in 0..<pixelCount { pixels[i * channels + index] = plane.pixels[i] }
    }
}
