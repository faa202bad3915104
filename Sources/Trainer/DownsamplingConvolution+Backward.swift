extension DownsamplingConvolution {
    /// Accumulates ∂L/∂kernel (colᵀ·dY) ; returns ∂L/∂x and ∂L/∂bias (Σ dY over pixels).
    static func backward(
        input x: Activation, outputGradient dy: Activation, kernel: [Float],
        kernelGradient: inout [Float]
    ) -> (input: Activation, bias: [Float]) {
        let cin = x.channels, cout = dy.channels
        var col = [Float](repeating: 0, count: x.count)
        var dx = x.zerosLike()
        x.data.withUnsafeBufferPointer { xp in
            col.withUnsafeMutableBufferPointer { cp in
                gather(xp.baseAddress!, shape: x, into: cp.baseAddress!)
                dy.data.withUnsafeBufferPointer { gp in
                    kernelGradient.withUnsafeMutableBufferPointer { dwp in
                        Gemm.multiply(transposeA: true, m: 4 * cin, n: cout, k: dy.pixels, a: cp.baseAddress!, lda: 4 * cin,
                                      b: gp.baseAddress!, ldb: cout, beta: 1, c: dwp.baseAddress!, ldc: cout)
                    }
                    kernel.withUnsafeBufferPointer { wp in
                        Gemm.multiply(transposeB: true, m: dy.pixels, n: 4 * cin, k: cout, a: gp.baseAddress!, lda: cout,
                                      b: wp.baseAddress!, ldb: cout, c: cp.baseAddress!, ldc: 4 * cin)
                    }
                }
                dx.data.withUnsafeMutableBufferPointer { dxp in scatter(cp.baseAddress!, shape: x, into: dxp.baseAddress!) }
            }
        }
        return (dx, ChannelSum.of(dy))
    }
}

/// Σ over all pixels per channel, accumulated in Double (bias gradients).
enum ChannelSum {
    static func of(_ t: Activation) -> [Float] {
        let c = t.channels
        var sums = [Double](repeating: 0, count: c)
        t.data.withUnsafeBufferPointer { p in
            for q in 0..<t.pixels { for o in 0..<c { sums[o] += Double(p[q &* c &+ o]) } }
        }
        return sums.map { Float($0) }
    }
}
