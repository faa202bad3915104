extension Convolution {
    /// Gradients of `forward`: accumulates ∂L/∂kernel (`[k·k·Cin, Cout]`, += colᵀ·dY) into `kernelGradient`
    /// and returns ∂L/∂x (col2im of dY·Wᵀ) when `needInputGradient`.
    static func backward(
        input x: Activation, outputGradient dy: Activation, kernel: [Float], size k: Int,
        kernelGradient: inout [Float], needInputGradient: Bool = true
    ) -> Activation? {
        let cin = x.channels, cout = dy.channels
        let hw = x.height * x.width
        let columns = k * k * cin
        precondition(kernelGradient.count == columns * cout)
        var dx: Activation? = needInputGradient ? x.zerosLike() : nil
        if k == 1 {
            x.data.withUnsafeBufferPointer { xp in
                dy.data.withUnsafeBufferPointer { gp in
                    kernelGradient.withUnsafeMutableBufferPointer { dwp in
                        Gemm.multiply(transposeA: true, m: cin, n: cout, k: x.pixels, a: xp.baseAddress!, lda: cin,
                                      b: gp.baseAddress!, ldb: cout, beta: 1, c: dwp.baseAddress!, ldc: cout)
                    }
                    if dx != nil {
                        kernel.withUnsafeBufferPointer { wp in
                            dx!.data.withUnsafeMutableBufferPointer { dxp in
                                Gemm.multiply(transposeB: true, m: x.pixels, n: cin, k: cout, a: gp.baseAddress!, lda: cout,
                                              b: wp.baseAddress!, ldb: cout, c: dxp.baseAddress!, ldc: cin)
                            }
                        }
                    }
                }
            }
            return dx
        }
        var scratch = [Float](repeating: 0, count: hw * columns)
        x.data.withUnsafeBufferPointer { xp in
            dy.data.withUnsafeBufferPointer { gp in
                kernelGradient.withUnsafeMutableBufferPointer { dwp in
                    kernel.withUnsafeBufferPointer { wp in
                        scratch.withUnsafeMutableBufferPointer { sp in
                            let col = sp.baseAddress!
                            for n in 0..<x.batch {
                                let g = gp.baseAddress! + n * hw * cout
                                im2col(xp.baseAddress! + n * hw * cin, height: x.height, width: x.width, channels: cin,
                                       size: k, into: col)
                                Gemm.multiply(transposeA: true, m: columns, n: cout, k: hw, a: col, lda: columns,
                                              b: g, ldb: cout, beta: 1, c: dwp.baseAddress!, ldc: cout)
                                guard dx != nil else { continue }
                                Gemm.multiply(transposeB: true, m: hw, n: columns, k: cout, a: g, lda: cout,
                                              b: wp.baseAddress!, ldb: cout, c: col, ldc: columns)
                                dx!.data.withUnsafeMutableBufferPointer { dxp in
                                    col2im(col, height: x.height, width: x.width, channels: cin, size: k,
                                           into: dxp.baseAddress! + n * hw * cin)
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }

    /// Scatter-adds column rows back onto the image (the adjoint of `im2col`); `image` must start zeroed.
    static func col2im(
        _ col: UnsafePointer<Float>, height: Int, width: Int, channels c: Int, size k: Int,
        into image: UnsafeMutablePointer<Float>
    ) {
        let pad = k / 2
        let rowLength = k &* k &* c
        for y in 0..<height {
            for xPos in 0..<width {
                var src = col + (y &* width &+ xPos) &* rowLength
                for ky in 0..<k {
                    let yy = y &+ ky &- pad
                    for kx in 0..<k {
                        let xx = xPos &+ kx &- pad
                        if yy >= 0 && yy < height && xx >= 0 && xx < width {
                            let dst = image + (yy &* width &+ xx) &* c
                            for i in 0..<c { dst[i] += src[i] }
                        }
                        src += c
                    }
                }
            }
        }
    }
}
