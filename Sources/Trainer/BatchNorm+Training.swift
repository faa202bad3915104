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
    /// The per-channel sums run in Float over blocks of 64 pixels (branch-free, vectorisable) and are
    /// carried across blocks in Double; the second pass is split over threads.
    static func trainingBackwardReLU(
        input x: Tensor, output y: Tensor, outputGradient dy: Tensor, gamma: [Float], statistics stats: BatchNormStatistics,
        threads: Int = 1
    ) -> (input: Tensor, gamma: [Float], beta: [Float]) {
        let c = x.shape.channels, count = x.shape.pixelCount
        var sumDz = [Double](repeating: 0, count: c)
        var sumDzXhat = [Double](repeating: 0, count: c)
        var dx = Tensor(shape: x.shape)
        var blockDz = [Float](repeating: 0, count: c), blockDzXhat = [Float](repeating: 0, count: c)
        x.values.withUnsafeBufferPointer { xb in
            y.values.withUnsafeBufferPointer { yb in
                dy.values.withUnsafeBufferPointer { gb in
                    stats.mean.withUnsafeBufferPointer { meanB in
                        stats.inverseStd.withUnsafeBufferPointer { invB in
                            let xp = xb.baseAddress!, yp = yb.baseAddress!, gp = gb.baseAddress!
                            let mean = meanB.baseAddress!, inv = invB.baseAddress!
                            blockDz.withUnsafeMutableBufferPointer { bdz in
                                blockDzXhat.withUnsafeMutableBufferPointer { bdx in
                                    var q = 0
                                    while q < count {
                                        let end = min(q &+ 64, count)
                                        for k in 0..<c { bdz[k] = 0; bdx[k] = 0 }
                                        while q < end {
                                            let row = q &* c
                                            for k in 0..<c {
                                                let dz: Float = yp[row &+ k] > 0 ? gp[row &+ k] : 0
                                                bdz[k] += dz
                                                bdx[k] += dz * ((xp[row &+ k] - mean[k]) * inv[k])
                                            }
                                            q &+= 1
                                        }
                                        for k in 0..<c {
                                            sumDz[k] += Double(bdz[k])
                                            sumDzXhat[k] += Double(bdx[k])
                                        }
                                    }
                                }
                            }
                            let meanDz = sumDz.map { Float($0 / Double(count)) }
                            let meanDzXhat = sumDzXhat.map { Float($0 / Double(count)) }
                            let factor = (0..<c).map { gamma[$0] * stats.inverseStd[$0] }
                            dx.values.withUnsafeMutableBufferPointer { outB in
                                let out = outB.baseAddress!
                                meanDz.withUnsafeBufferPointer { mdzB in
                                    meanDzXhat.withUnsafeBufferPointer { mdxB in
                                        factor.withUnsafeBufferPointer { fB in
                                            let mdz = mdzB.baseAddress!, mdx = mdxB.baseAddress!, f = fB.baseAddress!
                                            Parallel.forRanges(count, threads: threads, minimumChunk: max(1, 32_768 / max(c, 1))) { part in
                                                for q in part {
                                                    let row = q &* c
                                                    for k in 0..<c {
                                                        let dz: Float = yp[row &+ k] > 0 ? gp[row &+ k] : 0
                                                        let xhat = (xp[row &+ k] - mean[k]) * inv[k]
                                                        out[row &+ k] = f[k] * (dz - mdz[k] - xhat * mdx[k])
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
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
