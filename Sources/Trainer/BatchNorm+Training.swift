import Denoiser

/// Per-channel statistics of one training-mode batch norm call.
struct BatchNormStatistics {
    var mean: [Float]
    /// 1/√(σ²_biased + ε), what the normalisation and the backward pass use.
    var inverseStd: [Float]
    /// σ²·N/(N − 1): what enters the moving variance (TF's fused kernel reports the Bessel-corrected value).
    var unbiasedVariance: [Float]
}

extension BatchNorm {
    /// Training mode followed by ReLU (the only way the U-Net uses batch norm, `reference-model.md` §1.2):
    /// normalise with the batch's own per-channel mean and *biased* variance (÷ N, N = B·H·W), ε = TF's fused
    /// minimum 1.001e-5. Sums run in Double. Returns ReLU(γ·x̂ + β) and the statistics.
    static func trainingForwardReLU(
        _ x: Tensor, gamma: [Float], beta: [Float], epsilon: Float, threads: Int
    ) -> (Tensor, BatchNormStatistics) {
        let c = x.shape.channels, count = x.shape.pixelCount
        precondition(gamma.count == c && beta.count == c)
        var sum = [Double](repeating: 0, count: c)
        var sumSquares = [Double](repeating: 0, count: c)
        x.values.withUnsafeBufferPointer { p in
            for q in 0..<count {
                let row = q &* c
                for k in 0..<c { sum[k] += Double(p[row &+ k]) }
            }
            let mean = sum.map { $0 / Double(count) }
            for q in 0..<count {
                let row = q &* c
                for k in 0..<c {
                    let d = Double(p[row &+ k]) - mean[k]
                    sumSquares[k] += d * d
                }
            }
        }
        let mean = sum.map { $0 / Double(count) }
        let variance = sumSquares.map { $0 / Double(count) }
        let stats = BatchNormStatistics(
            mean: mean.map { Float($0) },
            inverseStd: variance.map { Float(1 / ($0 + Double(epsilon)).squareRoot()) },
            unbiasedVariance: variance.map { Float(count > 1 ? $0 * Double(count) / Double(count - 1) : $0) })
        let scale = (0..<c).map { gamma[$0] * stats.inverseStd[$0] }
        let shift = (0..<c).map { beta[$0] - stats.mean[$0] * scale[$0] }
        return (affineReLU(x, scale: scale, shift: shift, threads: threads), stats)
    }

    /// Inference mode followed by ReLU (moving statistics), for validation.
    static func inferenceForwardReLU(
        _ x: Tensor, gamma: [Float], beta: [Float], movingMean: [Float], movingVariance: [Float], epsilon: Float,
        threads: Int
    ) -> Tensor {
        let c = x.shape.channels
        let scale = (0..<c).map { gamma[$0] / (movingVariance[$0] + epsilon).squareRoot() }
        let shift = (0..<c).map { beta[$0] - movingMean[$0] * scale[$0] }
        return affineReLU(x, scale: scale, shift: shift, threads: threads)
    }

    private static func affineReLU(_ x: Tensor, scale: [Float], shift: [Float], threads: Int) -> Tensor {
        var y = Tensor(shape: x.shape)
        x.values.withUnsafeBufferPointer { xp in
            y.values.withUnsafeMutableBufferPointer { yp in
                scale.withUnsafeBufferPointer { s in
                    shift.withUnsafeBufferPointer { t in
                        apply(pixels: x.shape.pixelCount, channels: x.shape.channels, input: xp.baseAddress!,
                              scale: s.baseAddress!, shift: t.baseAddress!, relu: true, output: yp.baseAddress!,
                              threads: threads)
                    }
                }
            }
        }
        return y
    }

    /// Backward of `trainingForwardReLU` given its input `x`, output `y` (the ReLU mask) and statistics.
    /// With x̂ = (x − μ)·inv and dz = dy·[y > 0]: ∂β = Σ dz, ∂γ = Σ dz·x̂,
    /// ∂x = γ·inv·(dz − mean(dz) − x̂·mean(dz·x̂)) (the batch mean and variance depend on x).
    static func trainingBackwardReLU(
        input x: Tensor, output y: Tensor, outputGradient dy: Tensor, gamma: [Float], statistics stats: BatchNormStatistics
    ) -> (input: Tensor, gamma: [Float], beta: [Float]) {
        let c = x.shape.channels, count = x.shape.pixelCount
        var sumDz = [Double](repeating: 0, count: c)
        var sumDzXhat = [Double](repeating: 0, count: c)
        var dx = Tensor(shape: x.shape)
        x.values.withUnsafeBufferPointer { xp in
            y.values.withUnsafeBufferPointer { yp in
                dy.values.withUnsafeBufferPointer { gp in
                    for q in 0..<count {
                        let row = q &* c
                        for k in 0..<c where yp[row &+ k] > 0 {
                            let dz = Double(gp[row &+ k])
                            sumDz[k] += dz
                            sumDzXhat[k] += dz * Double((xp[row &+ k] - stats.mean[k]) * stats.inverseStd[k])
                        }
                    }
                    let meanDz = sumDz.map { Float($0 / Double(count)) }
                    let meanDzXhat = sumDzXhat.map { Float($0 / Double(count)) }
                    let factor = (0..<c).map { gamma[$0] * stats.inverseStd[$0] }
                    dx.values.withUnsafeMutableBufferPointer { out in
                        for q in 0..<count {
                            let row = q &* c
                            for k in 0..<c {
                                let dz = yp[row &+ k] > 0 ? gp[row &+ k] : 0
                                let xhat = (xp[row &+ k] - stats.mean[k]) * stats.inverseStd[k]
                                out[row &+ k] = factor[k] * (dz - meanDz[k] - xhat * meanDzXhat[k])
                            }
                        }
                    }
                }
            }
        }
        return (dx, sumDzXhat.map { Float($0) }, sumDz.map { Float($0) })
    }

    /// Moving-average update as the Keras v1 layer runs it (float32): stat −= (stat − value)·(1 − momentum).
    static func updateMovingAverage(_ moving: inout [Float], toward value: [Float], momentum: Float) {
        let decay = Float(1.0 - Double(momentum))
        for k in 0..<moving.count { moving[k] -= (moving[k] - value[k]) * decay }
    }
}
