/// Batch normalization in inference mode: `y = γ·(x − moving_mean)/sqrt(moving_variance + ε) + β`,
/// applied per channel as the affine map `y = scale·x + shift` (optionally followed by ReLU), or folded
/// into the weights of the linear op that produces `x`.
public struct BatchNormParameters: Sendable, Equatable {
    public var gamma: [Float]
    public var beta: [Float]
    public var movingMean: [Float]
    public var movingVariance: [Float]
    public var epsilon: Float

    /// The ε TensorFlow actually uses for the 2-D network: `tf.layers.batch_normalization(fused=True)` asks
    /// for 1e-5, but `nn.fused_batch_norm` clamps it to `max(ε, 1.001e-5)` (reference-model.md §1.2). The
    /// small-inference README's formula writes 1e-5. Measured (`EngineParityTests.testBatchNormEpsilonChoice`):
    /// the fixture cannot tell them apart (3.35e-7 vs 3.39e-7 × max|ref|; its moving variances are ≈1, so
    /// the 1e-8 difference is below float32 resolution). We follow TF's source: 1.001e-5.
    public static let tensorFlowFusedEpsilon: Float = 1.001e-5

    public init(gamma: [Float], beta: [Float], movingMean: [Float], movingVariance: [Float],
                epsilon: Float = BatchNormParameters.tensorFlowFusedEpsilon) {
        precondition(gamma.count == beta.count && beta.count == movingMean.count && movingMean.count == movingVariance.count,
                     "batch norm parameters must all have one value per channel")
        self.gamma = gamma
        self.beta = beta
        self.movingMean = movingMean
        self.movingVariance = movingVariance
        self.epsilon = epsilon
    }

    public var channels: Int { gamma.count }

    /// `scale = γ / sqrt(var + ε)`, `shift = β − mean·scale`, evaluated in double and rounded once.
    public func affine() -> ChannelAffine {
        var scale = [Float](repeating: 0, count: channels)
        var shift = [Float](repeating: 0, count: channels)
        for c in 0..<channels {
            let s = Double(gamma[c]) / (Double(movingVariance[c]) + Double(epsilon)).squareRoot()
            scale[c] = Float(s)
            shift[c] = Float(Double(beta[c]) - Double(movingMean[c]) * s)
        }
        return ChannelAffine(scale: scale, shift: shift)
    }
}

/// A per-channel affine map `y = scale[c]·x + shift[c]` (a batch norm in inference mode).
public struct ChannelAffine: Sendable, Equatable {
    public var scale: [Float]
    public var shift: [Float]
    public init(scale: [Float], shift: [Float]) {
        precondition(scale.count == shift.count)
        self.scale = scale
        self.shift = shift
    }
    public var channels: Int { scale.count }

    /// Folds this map into a linear op that produces its input: returns the kernel with output channel `o`
    /// multiplied by `scale[o]` and the bias `bias·scale + shift`. `outputChannelOf` maps a flat kernel index
    /// to its output channel (HWIO: `i % Cout`; transposed `[kh, kw, Cout, Cin]`: `(i / Cin) % Cout`).
    /// Exact in real arithmetic; in float it changes rounding by an ulp per weight.
    public func fold(kernel: [Float], bias: [Float]?, outputChannelOf: (Int) -> Int) -> (kernel: [Float], bias: [Float]) {
        var k = kernel
        for i in 0..<k.count { k[i] = Float(Double(k[i]) * Double(scale[outputChannelOf(i)])) }
        var b = [Float](repeating: 0, count: channels)
        for o in 0..<channels {
            b[o] = Float(Double(bias?[o] ?? 0) * Double(scale[o]) + Double(shift[o]))
        }
        return (k, b)
    }

    /// Folds into an HWIO kernel `[k, k, Cin, Cout]` (Cout fastest).
    public func foldIntoConvolution(kernel: [Float], bias: [Float]?) -> (kernel: [Float], bias: [Float]) {
        let cout = channels
        return fold(kernel: kernel, bias: bias) { $0 % cout }
    }

    /// Folds into a transposed-convolution kernel `[2, 2, Cout, Cin]`.
    public func foldIntoTransposedConvolution(kernel: [Float], bias: [Float]?, inputChannels: Int)
        -> (kernel: [Float], bias: [Float])
    {
        let cout = channels
        return fold(kernel: kernel, bias: bias) { ($0 / inputChannels) % cout }
    }
}

public enum BatchNorm {
    /// `output[p, c] = scale[c]·input[p, c] + shift[c]` (then ReLU if asked) over `pixels` pixels.
    /// Input and output may be the same memory (in place) or channel slices of wider buffers.
    public static func apply(
        pixels: Int, channels: Int,
        input: UnsafePointer<Float>, inputPixelStride: Int? = nil,
        scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, relu: Bool,
        output: UnsafeMutablePointer<Float>, outputPixelStride: Int? = nil, threads: Int
    ) {
        let lda = inputPixelStride ?? channels
        let ldc = outputPixelStride ?? channels
        Parallel.forRanges(pixels, threads: threads, minimumChunk: max(1, 32_768 / max(channels, 1))) { part in
            for p in part {
                let x = input + p &* lda
                let y = output + p &* ldc
                if relu {
                    for c in 0..<channels { y[c] = max(x[c] * scale[c] + shift[c], 0) }
                } else {
                    for c in 0..<channels { y[c] = x[c] * scale[c] + shift[c] }
                }
            }
        }
    }

    /// Allocating convenience (inference mode).
    public static func inference(_ input: Tensor, _ parameters: BatchNormParameters, relu: Bool = false,
                                 threads: Int = 1) -> Tensor {
        precondition(parameters.channels == input.shape.channels,
                     "batch norm has \(parameters.channels) channels, tensor \(input.shape)")
        let affine = parameters.affine()
        var out = Tensor(shape: input.shape)
        input.values.withUnsafeBufferPointer { x in
            out.values.withUnsafeMutableBufferPointer { y in
                affine.scale.withUnsafeBufferPointer { s in
                    affine.shift.withUnsafeBufferPointer { t in
                        apply(pixels: input.shape.pixelCount, channels: input.shape.channels, input: x.baseAddress!,
                              scale: s.baseAddress!, shift: t.baseAddress!, relu: relu, output: y.baseAddress!,
                              threads: threads)
                    }
                }
            }
        }
        return out
    }
}
