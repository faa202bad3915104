extension TransposedConvolution {
    /// Accumulates ∂L/∂kernel (`[4·Cout, Cin]` += dY'ᵀ·X) ; returns ∂L/∂x = dY'·K and ∂L/∂bias.
    static func backward(
        input x: Activation, outputGradient dy: Activation, kernel: [Float],
        kernelGradient: inout [Float]
    ) -> (input: Activation, bias: [Float]) {
        let cin = x.channels, cout = dy.channels
        var shuffled = [Float](repeating: 0, count: x.pixels * 4 * cout)
        dy.data.withUnsafeBufferPointer { gp in
            shuffled.withUnsafeMutableBufferPointer { sp in
                forEachTap(x, channelsOut: cout) { src, dst in
                    (sp.baseAddress! + src).update(from: gp.baseAddress! + dst, count: cout)
                }
            }
        }
        var dx = x.zerosLike()
        shuffled.withUnsafeBufferPointer { sp in
            x.data.withUnsafeBufferPointer { xp in
                kernelGradient.withUnsafeMutableBufferPointer { dwp in
                    Gemm.multiply(transposeA: true, m: 4 * cout, n: cin, k: x.pixels, a: sp.baseAddress!, lda: 4 * cout,
                                  b: xp.baseAddress!, ldb: cin, beta: 1, c: dwp.baseAddress!, ldc: cin)
                }
            }
            kernel.withUnsafeBufferPointer { wp in
                dx.data.withUnsafeMutableBufferPointer { dxp in
                    Gemm.multiply(m: x.pixels, n: cin, k: 4 * cout, a: sp.baseAddress!, lda: 4 * cout,
                                  b: wp.baseAddress!, ldb: cin, c: dxp.baseAddress!, ldc: cin)
                }
            }
        }
        return (dx, ChannelSum.of(dy))
    }
}
