import CheckpointImport
import Denoiser

extension TransposedConv2D {
    /// Gradients of `TransposedConv2D.forward` (2×2, stride 2, kernel `[2, 2, Cout, Cin]` = `[4·Cout, Cin]`).
    /// dY' (`[pixels, (a, b, o)]`) is the inverse pixel shuffle of dY; then ∂K += dY'ᵀ·X, ∂x = dY'·K and
    /// ∂bias = Σ dY.
    static func backward(
        input x: Tensor, outputGradient dy: Tensor, kernel: FloatTensor, kernelGradient: inout [Float], threads: Int = 1
    ) -> (input: Tensor, bias: [Float]) {
        let cin = x.shape.channels, cout = dy.shape.channels
        precondition(kernel.shape == [2, 2, cout, cin] && kernelGradient.count == kernel.count)
        precondition(dy.shape.height == 2 * x.shape.height && dy.shape.width == 2 * x.shape.width)
        let pixels = x.shape.pixelCount, row = 4 * cout
        let h = x.shape.height, w = x.shape.width
        var shuffled = [Float](repeating: 0, count: pixels * row)
        dy.values.withUnsafeBufferPointer { gp in
            shuffled.withUnsafeMutableBufferPointer { sp in
                for p in 0..<pixels {
                    let n = p / (h &* w)
                    let rem = p &- n &* h &* w
                    let i = rem / w
                    let j = rem &- i &* w
                    for a in 0..<2 {
                        for b in 0..<2 {
                            let outRow: Int = n &* 2 &* h &+ 2 &* i &+ a
                            let outPixel: Int = outRow &* (2 &* w) &+ 2 &* j &+ b
                            let tapOffset: Int = p &* row &+ (a &* 2 &+ b) &* cout
                            let dst: UnsafeMutablePointer<Float> = sp.baseAddress! + tapOffset
                            dst.update(from: gp.baseAddress! + outPixel &* cout, count: cout)
                        }
                    }
                }
            }
        }
        var dx = Tensor(shape: x.shape)
        shuffled.withUnsafeBufferPointer { sp in
            x.values.withUnsafeBufferPointer { xp in
                kernelGradient.withUnsafeMutableBufferPointer { dwp in
                    SplitGEMM.multiply(m: row, n: cin, k: pixels, a: sp.baseAddress!, lda: row, transposeA: true,
                                       b: xp.baseAddress!, ldb: cin, c: dwp.baseAddress!, ldc: cin, beta: 1,
                                       split: .columns, threads: threads)
                }
            }
            kernel.values.withUnsafeBufferPointer { wp in
                dx.values.withUnsafeMutableBufferPointer { dxp in
                    SplitGEMM.multiply(m: pixels, n: cin, k: row, a: sp.baseAddress!, lda: row,
                                       b: wp.baseAddress!, ldb: cin, c: dxp.baseAddress!, ldc: cin,
                                       split: .rows, threads: threads)
                }
            }
        }
        return (dx, ChannelSum.of(dy))
    }
}
