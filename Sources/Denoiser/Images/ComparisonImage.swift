/// The `--compare` picture: before (left) and after (right) side by side, as an 8-bit image with the
/// input's channels (alpha included), so it can be looked at in any viewer whatever the input was.
public enum ComparisonImage {
    /// `before` and `after` must have the same size and channels. 16-bit samples are scaled to 8-bit with
    /// rounding to nearest (v · 255 / 65535).
    public static func make(before: DecodedImage, after: DecodedImage) -> DecodedImage {
        precondition(before.width == after.width && before.height == after.height
                        && before.colorChannels == after.colorChannels && before.hasAlpha == after.hasAlpha,
                     "before and after differ in size or channels")
        let w = before.width, h = before.height
        func eight(_ s: ImageSamples) -> [UInt8] {
            switch s {
            case .uint8(let v): v
            case .uint16(let v): v.map { UInt8((UInt32($0) &* 255 &+ 32767) / 65535) }
            }
        }
        func sideBySide(_ left: [UInt8], _ right: [UInt8], channels: Int) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 2 * w * h * channels)
            let row = w * channels
            for y in 0..<h {
                out[(2 * y * row)..<(2 * y * row + row)] = left[(y * row)..<(y * row + row)]
                out[(2 * y * row + row)..<(2 * y * row + 2 * row)] = right[(y * row)..<(y * row + row)]
            }
            return out
        }
        let color = sideBySide(eight(before.samples), eight(after.samples), channels: before.colorChannels)
        var alpha: ImageSamples? = nil
        if let a = before.alpha, let b = after.alpha { alpha = .uint8(sideBySide(eight(a), eight(b), channels: 1)) }
        return DecodedImage(format: .png, width: 2 * w, height: h, colorChannels: before.colorChannels,
                            samples: .uint8(color), alpha: alpha, wasPalette: false)
    }
}
