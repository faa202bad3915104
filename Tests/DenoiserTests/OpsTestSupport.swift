import CheckpointImport
import Denoiser
@testable import Denoiser

/// Deterministic pseudo-random values for op tests (SplitMix64 → uniform in [-1, 1)).
struct TestRandom {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> Float {
        let z = generator.next()
        return Float(Double(z >> 40) / Double(1 << 24)) * 2 - 1
    }
    mutating func values(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
    mutating func tensor(_ n: Int, _ h: Int, _ w: Int, _ c: Int) -> Tensor {
        Tensor(shape: TensorShape(batch: n, height: h, width: w, channels: c), values: values(n * h * w * c))
    }
}

/// Independent derivations: textbook direct loops, written from the op definitions in reference-model.md §1.2
/// (no im2col, no GEMM), accumulated in double.
enum Naive {
    /// TF-'same' cross-correlation, HWIO kernel, stride s.
    static func conv(_ x: Tensor, kernel: FloatTensor, bias: [Float]?, stride: Int) -> Tensor {
        let k = kernel.shape[0], cin = kernel.shape[2], cout = kernel.shape[3]
        let h = x.shape.height, w = x.shape.width
        let oh = (h + stride - 1) / stride, ow = (w + stride - 1) / stride
        let padTop = max((oh - 1) * stride + k - h, 0) / 2
        let padLeft = max((ow - 1) * stride + k - w, 0) / 2
        var out = Tensor(shape: TensorShape(batch: x.shape.batch, height: oh, width: ow, channels: cout))
        for n in 0..<x.shape.batch {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for o in 0..<cout {
                        var s = Double(bias?[o] ?? 0)
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let y = oy * stride - padTop + ky, xx = ox * stride - padLeft + kx
                                guard y >= 0, y < h, xx >= 0, xx < w else { continue }
                                for c in 0..<cin {
                                    s += Double(x[n, y, xx, c]) * Double(kernel.values[((ky * k + kx) * cin + c) * cout + o])
                                }
                            }
                        }
                        out[n, oy, ox, o] = Float(s)
                    }
                }
            }
        }
        return out
    }

    /// out[2i+a, 2j+b, o] = Σ_c in[i,j,c]·K[a,b,o,c] + bias[o]; K is [2,2,Cout,Cin].
    static func transposedConv(_ x: Tensor, kernel: FloatTensor, bias: [Float]) -> Tensor {
        let cout = kernel.shape[2], cin = kernel.shape[3]
        var out = Tensor(shape: TensorShape(batch: x.shape.batch, height: 2 * x.shape.height,
                                            width: 2 * x.shape.width, channels: cout))
        for n in 0..<x.shape.batch {
            for i in 0..<x.shape.height {
                for j in 0..<x.shape.width {
                    for a in 0..<2 {
                        for b in 0..<2 {
                            for o in 0..<cout {
                                var s = Double(bias[o])
                                for c in 0..<cin {
                                    s += Double(x[n, i, j, c]) * Double(kernel.values[((a * 2 + b) * cout + o) * cin + c])
                                }
                                out[n, 2 * i + a, 2 * j + b, o] = Float(s)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    static func batchNorm(_ x: Tensor, _ p: BatchNormParameters) -> Tensor {
        var out = x
        let c = x.shape.channels
        for i in 0..<x.count {
            let ch = i % c
            let v = Double(p.gamma[ch]) * (Double(x.values[i]) - Double(p.movingMean[ch]))
                / (Double(p.movingVariance[ch]) + Double(p.epsilon)).squareRoot() + Double(p.beta[ch])
            out.values[i] = Float(v)
        }
        return out
    }
}

extension Tensor {
    /// max |self − other| / max |other|.
    func relativeError(to reference: Tensor) -> Double {
        precondition(shape == reference.shape, "shape \(shape) vs reference \(reference.shape)")
        var d = 0.0, m = 0.0
        for i in 0..<count {
            d = max(d, abs(Double(values[i]) - Double(reference.values[i])))
            m = max(m, abs(Double(reference.values[i])))
        }
        return m == 0 ? d : d / m
    }
}
