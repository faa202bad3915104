/// Integer samples at the file's own bit depth. Kept at that width (not widened) because the decoded image
/// lives beside two float copies while it is denoised, and 8-bit is the common case.
public enum ImageSamples: Sendable, Equatable {
    case uint8([UInt8])
    case uint16([UInt16])

    public var bitDepth: Int {
        switch self {
        case .uint8: 8
        case .uint16: 16
        }
    }

    public var count: Int {
        switch self {
        case .uint8(let s): s.count
        case .uint16(let s): s.count
        }
    }

    /// Sample `index` widened to an integer (for tests and small tools, not for hot loops).
    public subscript(index: Int) -> Int {
        switch self {
        case .uint8(let s): Int(s[index])
        case .uint16(let s): Int(s[index])
        }
    }

    /// All samples set to zero at `bitDepth` (8 or 16).
    public static func zeros(count: Int, bitDepth: Int) -> ImageSamples {
        precondition(bitDepth == 8 || bitDepth == 16, "bit depth must be 8 or 16, got \(bitDepth)")
        return bitDepth == 8 ? .uint8([UInt8](repeating: 0, count: count)) : .uint16([UInt16](repeating: 0, count: count))
    }
}

/// Interleave / de-interleave helpers shared by the codec and the comparison writer.
enum SampleInterleaving {
    /// Splits `channels`-interleaved samples into the first `channels - 1` (colour) and the last (alpha).
    static func splitAlpha<T: FixedWidthInteger>(_ interleaved: [T], pixels: Int, channels: Int) -> (color: [T], alpha: [T]) {
        let colorChannels = channels - 1
        var color = [T](repeating: 0, count: pixels * colorChannels)
        var alpha = [T](repeating: 0, count: pixels)
        interleaved.withUnsafeBufferPointer { src in
            color.withUnsafeMutableBufferPointer { c in
                alpha.withUnsafeMutableBufferPointer { a in
                    for p in 0..<pixels {
                        let s = p &* channels
                        let d = p &* colorChannels
                        for k in 0..<colorChannels { c[d &+ k] = src[s &+ k] }
                        a[p] = src[s &+ colorChannels]
                    }
                }
            }
        }
        return (color, alpha)
    }

    /// The inverse of `splitAlpha`.
    static func mergeAlpha<T: FixedWidthInteger>(color: [T], alpha: [T], pixels: Int, colorChannels: Int) -> [T] {
        let channels = colorChannels + 1
        var out = [T](repeating: 0, count: pixels * channels)
        color.withUnsafeBufferPointer { c in
            alpha.withUnsafeBufferPointer { a in
                out.withUnsafeMutableBufferPointer { dst in
                    for p in 0..<pixels {
                        let d = p &* channels
                        let s = p &* colorChannels
                        for k in 0..<colorChannels { dst[d &+ k] = c[s &+ k] }
                        dst[d &+ colorChannels] = a[p]
                    }
                }
            }
        }
        return out
    }
}
