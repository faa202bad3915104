/// Channel concatenation of two NHWC tensors with the same N, H, W: `[first | second]` per pixel.
/// The U-Net concatenates the **upsampled** tensor first and the skip connection second
/// (reference-model.md §1.4), which fixes the input-channel order of the decoding blocks' weights.
public enum Concat {
    public static func forward(
        pixels: Int, first: UnsafePointer<Float>, firstChannels: Int,
        second: UnsafePointer<Float>, secondChannels: Int,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let width = firstChannels + secondChannels
        Parallel.forRanges(pixels, threads: threads, minimumChunk: max(1, 32_768 / max(width, 1))) { part in
            for p in part {
                let dst = output + p &* width
                dst.update(from: first + p &* firstChannels, count: firstChannels)
                (dst + firstChannels).update(from: second + p &* secondChannels, count: secondChannels)
            }
        }
    }

    public static func forward(_ first: Tensor, _ second: Tensor, threads: Int = 1) -> Tensor {
        precondition(first.shape.with(channels: 0) == second.shape.with(channels: 0),
                     "concat: shapes \(first.shape) and \(second.shape) differ outside the channel axis")
        var out = Tensor(shape: first.shape.with(channels: first.shape.channels + second.shape.channels))
        first.values.withUnsafeBufferPointer { a in
            second.values.withUnsafeBufferPointer { b in
                out.values.withUnsafeMutableBufferPointer { o in
                    forward(pixels: first.shape.pixelCount, first: a.baseAddress!, firstChannels: first.shape.channels,
                            second: b.baseAddress!, secondChannels: second.shape.channels,
                            output: o.baseAddress!, threads: threads)
                }
            }
        }
        return out
    }
}
