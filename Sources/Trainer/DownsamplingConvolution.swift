/// 2×2 convolution, stride 2, with bias (`encoding_block_*/downsampling/convolution`), HWIO kernel
/// `[2, 2, Cin, Cout]`. Training inputs have even sizes, where TF's SAME padding adds nothing; the taps of
/// different outputs never overlap, so im2col is a permutation of the input and needs no per-image chunking.
enum DownsamplingConvolution {
    static func forward(_ x: Activation, kernel: [Float], bias: [Float]) -> Activation {
        precondition(x.height % 2 == 0 && x.width % 2 == 0, "downsampling needs even sizes, got \(x.height)×\(x.width)")
        let cin = x.channels, cout = bias.count
        precondition(kernel.count == 4 * cin * cout)
        var y = Activation(batch: x.batch, height: x.height / 2, width: x.width / 2, channels: cout)
        var col = [Float](repeating: 0, count: x.count)
        x.data.withUnsafeBufferPointer { xp in
            col.withUnsafeMutableBufferPointer { cp in gather(xp.baseAddress!, shape: x, into: cp.baseAddress!) }
        }
        let outPixels = y.pixels
        y.data.withUnsafeMutableBufferPointer { yp in
            // Start from the bias broadcast and accumulate the product onto it.
            for p in 0..<outPixels { for o in 0..<cout { yp[p &* cout &+ o] = bias[o] } }
            col.withUnsafeBufferPointer { cp in
                kernel.withUnsafeBufferPointer { wp in
                    Gemm.multiply(m: outPixels, n: cout, k: 4 * cin, a: cp.baseAddress!, lda: 4 * cin,
                                  b: wp.baseAddress!, ldb: cout, beta: 1, c: yp.baseAddress!, ldc: cout)
                }
            }
        }
        return y
    }

    /// col[(n, i, j), (a, b, c)] = x[n, 2i + a, 2j + b, c].
    static func gather(_ x: UnsafePointer<Float>, shape: Activation, into col: UnsafeMutablePointer<Float>) {
        let c = shape.channels, h2 = shape.height / 2, w2 = shape.width / 2
        var dst = col
        for n in 0..<shape.batch {
            for i in 0..<h2 {
                for j in 0..<w2 {
                    for a in 0..<2 {
                        for b in 0..<2 {
                            let src = x + ((n &* shape.height &+ 2 &* i &+ a) &* shape.width &+ 2 &* j &+ b) &* c
                            dst.update(from: src, count: c)
                            dst += c
                        }
                    }
                }
            }
        }
    }

    /// The inverse permutation of `gather`.
    static func scatter(_ col: UnsafePointer<Float>, shape: Activation, into x: UnsafeMutablePointer<Float>) {
        let c = shape.channels, h2 = shape.height / 2, w2 = shape.width / 2
        var src = col
        for n in 0..<shape.batch {
            for i in 0..<h2 {
                for j in 0..<w2 {
                    for a in 0..<2 {
                        for b in 0..<2 {
                            let dst = x + ((n &* shape.height &+ 2 &* i &+ a) &* shape.width &+ 2 &* j &+ b) &* c
                            dst.update(from: src, count: c)
                            src += c
                        }
                    }
                }
            }
        }
    }
}
