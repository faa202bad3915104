/// k×k convolution, stride 1, SAME zero padding, no bias (k = 1 or 3 in the U-Net), HWIO kernel
/// `[k, k, Cin, Cout]`, cross-correlation as TF's `conv2d`.
///
/// Forward: per image, im2col into a `[H·W, k·k·Cin]` scratch (column order ky, kx, ci, which is exactly
/// the row order of the flattened HWIO kernel) and one sgemm with the `[k·k·Cin, Cout]` kernel. Working
/// per image bounds the scratch to one image's columns (the paper model's widest layer at 64×64 needs 28 MB).
enum Convolution {
    static func forward(_ x: Activation, kernel: [Float], size k: Int, outputChannels cout: Int) -> Activation {
        let cin = x.channels
        precondition(kernel.count == k * k * cin * cout, "kernel does not match \(k)×\(k)×\(cin)×\(cout)")
        var y = x.zerosLike(channels: cout)
        let hw = x.height * x.width
        if k == 1 {
            x.data.withUnsafeBufferPointer { xp in
                kernel.withUnsafeBufferPointer { wp in
                    y.data.withUnsafeMutableBufferPointer { yp in
                        Gemm.multiply(m: x.pixels, n: cout, k: cin, a: xp.baseAddress!, lda: cin,
                                      b: wp.baseAddress!, ldb: cout, c: yp.baseAddress!, ldc: cout)
                    }
                }
            }
            return y
        }
        let columns = k * k * cin
        var scratch = [Float](repeating: 0, count: hw * columns)
        x.data.withUnsafeBufferPointer { xp in
            kernel.withUnsafeBufferPointer { wp in
                y.data.withUnsafeMutableBufferPointer { yp in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        for n in 0..<x.batch {
                            im2col(xp.baseAddress! + n * hw * cin, height: x.height, width: x.width, channels: cin,
                                   size: k, into: sp.baseAddress!)
                            Gemm.multiply(m: hw, n: cout, k: columns, a: sp.baseAddress!, lda: columns,
                                          b: wp.baseAddress!, ldb: cout, c: yp.baseAddress! + n * hw * cout, ldc: cout)
                        }
                    }
                }
            }
        }
        return y
    }

    /// Gathers the k×k neighbourhoods of one image (HWC) into rows of `k·k·C` values; out-of-image taps are 0.
    static func im2col(
        _ x: UnsafePointer<Float>, height: Int, width: Int, channels c: Int, size k: Int,
        into col: UnsafeMutablePointer<Float>
    ) {
        let pad = k / 2
        let rowLength = k &* k &* c
        for y in 0..<height {
            for xPos in 0..<width {
                var dst = col + (y &* width &+ xPos) &* rowLength
                for ky in 0..<k {
                    let yy = y &+ ky &- pad
                    for kx in 0..<k {
                        let xx = xPos &+ kx &- pad
                        if yy < 0 || yy >= height || xx < 0 || xx >= width {
                            dst.update(repeating: 0, count: c)
                        } else {
                            dst.update(from: x + (yy &* width &+ xx) &* c, count: c)
                        }
                        dst += c
                    }
                }
            }
        }
    }
}
