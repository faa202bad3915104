/// 2×2 transposed convolution, stride 2, with bias (`decoding_block_*/upsampling/transposed_convolution`).
/// Kernel layout `[2, 2, Cout, Cin]` (TF's conv2d_transpose): out[2i+a, 2j+b, o] = Σ_c x[i,j,c]·K[a,b,o,c] + bias[o].
/// Each output pixel sees exactly one input pixel, so the op is one sgemm Y' = X·Kᵀ with K viewed as
/// `[4·Cout, Cin]`, followed by a pixel shuffle of Y' `[pixels, (a, b, o)]` into the doubled image.
enum TransposedConvolution {
    static func forward(_ x: Activation, kernel: [Float], bias: [Float]) -> Activation {
        let cin = x.channels, cout = bias.count
        precondition(kernel.count == 4 * cout * cin)
        var shuffled = [Float](repeating: 0, count: x.pixels * 4 * cout)
        x.data.withUnsafeBufferPointer { xp in
            kernel.withUnsafeBufferPointer { wp in
                shuffled.withUnsafeMutableBufferPointer { sp in
                    Gemm.multiply(transposeB: true, m: x.pixels, n: 4 * cout, k: cin, a: xp.baseAddress!, lda: cin,
                                  b: wp.baseAddress!, ldb: cin, c: sp.baseAddress!, ldc: 4 * cout)
                }
            }
        }
        var y = Activation(batch: x.batch, height: 2 * x.height, width: 2 * x.width, channels: cout)
        shuffled.withUnsafeBufferPointer { sp in
            y.data.withUnsafeMutableBufferPointer { yp in
                forEachTap(x, channelsOut: cout) { src, dst in
                    for o in 0..<cout { yp[dst &+ o] = sp[src &+ o] + bias[o] }
                }
            }
        }
        return y
    }

    /// Calls `body(offset in Y', offset in the output)` for every (input pixel, tap) pair; both offsets point
    /// at `cout` consecutive channels.
    @inline(__always)
    static func forEachTap(_ x: Activation, channelsOut cout: Int, _ body: (Int, Int) -> Void) {
        let outW = 2 &* x.width, outH = 2 &* x.height
        var p = 0
        for n in 0..<x.batch {
            for i in 0..<x.height {
                for j in 0..<x.width {
                    for a in 0..<2 {
                        for b in 0..<2 {
                            let tap = a &* 2 &+ b
                            let pixel = (n &* outH &+ 2 &* i &+ a) &* outW &+ 2 &* j &+ b
                            body((p &* 4 &+ tap) &* cout, pixel &* cout)
                        }
                    }
                    p &+= 1
                }
            }
        }
    }
}
