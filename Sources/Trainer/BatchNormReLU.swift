/// Batch normalisation followed by ReLU, the only way the U-Net uses batch norm (`reference-model.md` §1.2).
///
/// Training mode normalises with the batch's own per-channel mean and *biased* variance (÷ N, N = B·H·W)
/// and reports the *unbiased* variance (÷ (N − 1)) for the moving average, as TF's fused kernel does.
/// Inference mode uses the moving statistics. ε is TF's fused-kernel minimum 1.001e-5 in both modes.
struct BatchNormStatistics {
    var mean: [Float]
    /// 1/√(σ²_biased + ε) per channel, used by the backward pass.
    var inverseStd: [Float]
    /// σ² · N/(N − 1): what enters the moving variance.
    var unbiasedVariance: [Float]
}

enum BatchNormReLU {
    static let fusedEpsilon: Float = 1.001e-5

    /// Training mode. Returns ReLU(BN(x)) and the batch statistics.
    static func forwardTraining(
        _ x: Activation, gamma: [Float], beta: [Float], epsilon: Float = fusedEpsilon
    ) -> (Activation, BatchNormStatistics) {
        let c = x.channels, count = x.pixels
        precondition(gamma.count == c && beta.count == c)
        var sum = [Double](repeating: 0, count: c)
        var sumSquares = [Double](repeating: 0, count: c)
        x.data.withUnsafeBufferPointer { p in
            for q in 0..<count {
                let row = q &* c
                for k in 0..<c { sum[k] += Double(p[row &+ k]) }
            }
        }
        let mean = sum.map { $0 / Double(count) }
        x.data.withUnsafeBufferPointer { p in
            for q in 0..<count {
                let row = q &* c
                for k in 0..<c {
                    let d = Double(p[row &+ k]) - mean[k]
                    sumSquares[k] += d * d
                }
            }
        }
        let variance = sumSquares.map { $0 / Double(count) }
        let stats = BatchNormStatistics(
            mean: mean.map { Float($0) },
            inverseStd: variance.map { Float(1 / ($0 + Double(epsilon)).squareRoot()) },
            unbiasedVariance: variance.map { Float(count > 1 ? $0 * Double(count) / Double(count - 1) : $0) })
        let scale = (0..<c).map { gamma[$0] * stats.inverseStd[$0] }
        let shift = (0..<c).map { beta[$0] - stats.mean[$0] * scale[$0] }
        return (apply(x, scale: scale, shift: shift), stats)
    }

    /// Inference mode (moving statistics).
    static func forwardInference(
        _ x: Activation, gamma: [Float], beta: [Float], movingMean: [Float], movingVariance: [Float],
        epsilon: Float = fusedEpsilon
    ) -> Activation {
        let c = x.channels
        let scale = (0..<c).map { gamma[$0] / (movingVariance[$0] + epsilon).squareRoot() }
        let shift = (0..<c).map { beta[$0] - movingMean[$0] * scale[$0] }
        return apply(x, scale: scale, shift: shift)
    }

    /// y = max(0, x·scale + shift) per channel.
    private static func apply(_ x: Activation, scale: [Float], shift: [Float]) -> Activation {
        var y = x.zerosLike()
        let c = x.channels
        x.data.withUnsafeBufferPointer { p in
            y.data.withUnsafeMutableBufferPointer { out in
                scale.withUnsafeBufferPointer { s in
                    shift.withUnsafeBufferPointer { b in
                        for q in 0..<x.pixels {
                            let row = q &* c
                            for k in 0..<c { out[row &+ k] = max(0, p[row &+ k] * s[k] + b[k]) }
                        }
                    }
                }
            }
        }
        return y
    }

    /// Moving-average update as the Keras v1 layer runs it: stat −= (stat − batchValue)·(1 − momentum).
    static func updateMovingAverage(_ moving: inout [Float], toward value: [Float], momentum: Float) {
        let decay = Float(1.0 - Double(momentum))
        for k in 0..<moving.count { moving[k] -= (moving[k] - value[k]) * decay }
    }
}
