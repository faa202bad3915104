/// Conversion between decoded files and the numeric core's `FloatImage`.
///
/// Only colour channels cross over; alpha stays in the `DecodedImage`. Samples keep their own scale
/// (0…255 for 8-bit, 0…65535 for 16-bit): the engine normalises per image, so no rescaling is needed and
/// the normalisation statistics it reports are in grey levels.
///
/// Back to integers we **clip, then round half away from zero** (which for the clipped, non-negative
/// values is round-half-up): −3.4 → 0, 255.6 → 255, 127.5 → 128, 127.49 → 127; NaN → 0, +∞ → max.
/// The reference's single-image script instead casts with `astype(uint8)`, which truncates toward zero and
/// wraps out-of-range values (−3 → 253, 256 → 0), producing salt-and-pepper artefacts at the extremes.
extension DecodedImage {
    /// The colour channels as floats in the samples' own scale.
    public func floatImage() -> FloatImage {
        let count = pixelCount * colorChannels
        var pixels = [Float](repeating: 0, count: count)
        pixels.withUnsafeMutableBufferPointer { dst in
            switch samples {
            case .uint8(let s):
                s.withUnsafeBufferPointer { src in for i in 0..<count { dst[i] = Float(src[i]) } }
            case .uint16(let s):
                s.withUnsafeBufferPointer { src in for i in 0..<count { dst[i] = Float(src[i]) } }
            }
        }
        return FloatImage(height: height, width: width, channels: colorChannels, pixels: pixels)
    }

    /// This image with its colour samples replaced by `image` (clipped and rounded to the bit depth);
    /// format, bit depth, alpha and palette note are kept.
    public func replacingColor(with image: FloatImage) -> DecodedImage {
        precondition(image.width == width && image.height == height && image.channels == colorChannels,
                     "denoised image is \(image.width)×\(image.height)×\(image.channels), "
                        + "expected \(width)×\(height)×\(colorChannels)")
        var copy = self
        copy.samples = Self.quantize(image.pixels, bitDepth: bitDepth)
        return copy
    }

    /// Clip-and-round of float samples to `bitDepth` (8 or 16) integers (rule in the type's comment).
    public static func quantize(_ values: [Float], bitDepth: Int) -> ImageSamples {
        switch bitDepth {
        case 8: .uint8(quantize(values, as: UInt8.self))
        case 16: .uint16(quantize(values, as: UInt16.self))
        default: preconditionFailure("bit depth must be 8 or 16, got \(bitDepth)")
        }
    }

    static func quantize<T: FixedWidthInteger & UnsignedInteger>(_ values: [Float], as: T.Type) -> [T] {
        let top = Float(T.max)
        var out = [T](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count {
                    var v = src[i]
                    if !(v > 0) { v = 0 } else if v > top { v = top }  // `!(v > 0)` also sends NaN to 0
                    dst[i] = T(v.rounded(.toNearestOrAwayFromZero))
                }
            }
        }
        return out
    }
}
