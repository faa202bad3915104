/// `y[p, o] = Σ_c relu(scale[c]·x[p, c] + shift[c]) · W[o, c]`: an inference batch norm + ReLU followed by
/// a 1×1 convolution to a few output channels (the network head: `unet_out` then `out_conv`, 96 → 1 or 3).
///
/// Why one pass: as separate ops the head wrote the whole activated top level (N·H·W·96 floats, 25 MB at
/// 256²) and read it back in a GEMM with N = 1–3 columns, where OpenBLAS spends more time packing than
/// multiplying. Here each pixel's channels are read once and reduced in registers.
public enum AffineReLUProjection {
    /// - Parameters:
    ///   - input: `pixels × channels`, dense.
    ///   - weights: `[outputs, channels]` row-major (the 1×1 kernel transposed).
    ///   - output: `pixels × outputs`, dense.
    public static func forward(pixels: Int, channels: Int, outputs: Int, input: UnsafePointer<Float>,
                               scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                               weights: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        typealias V = SIMD8<Float>
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        let vectorChannels = channels & ~7
        let zero = V()
        Parallel.forRanges(pixels, threads: threads, minimumChunk: max(1, 32_768 / max(channels, 1))) { part in
            for p in part {
                let x = input + p &* channels
                let y = output + p &* outputs
                for o in 0..<outputs {
                    let w = weights + o &* channels
                    var acc = V()
                    var c = 0
                    while c < vectorChannels {
                        var a = load(x + c) * load(scale + c) + load(shift + c)
                        a = a.replacing(with: zero, where: a .< zero)
                        acc = acc.addingProduct(a, load(w + c))
                        c &+= 8
                    }
                    var sum = acc.sum()
                    while c < channels {
                        sum += max(x[c] * scale[c] + shift[c], 0) * w[c]
                        c &+= 1
                    }
                    y[o] = sum
                }
            }
        }
    }
}
