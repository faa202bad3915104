extension BatchNormReLU {
    /// Backward of training-mode ReLU(BN(x)) given the input `x`, the output `y` (for the ReLU mask) and the
    /// batch statistics. With x̂ = (x − μ)·inv, dz = dy·[y > 0]:
    /// ∂β = Σ dz, ∂γ = Σ dz·x̂, ∂x = γ·inv/N · (N·dz − ∂β − x̂·∂γ) (the batch mean and variance depend on x).
    static func backwardTraining(
        input x: Activation, output y: Activation, outputGradient dy: Activation, gamma: [Float],
        statistics stats: BatchNormStatistics
    ) -> (input: Activation, gamma: [Float], beta: [Float]) {
        let c = x.channels, count = x.pixels
        var sumDz = [Double](repeating: 0, count: c)
        var sumDzXhat = [Double](repeating: 0, count: c)
        var dx = x.zerosLike()
        x.data.withUnsafeBufferPointer { xp in
            y.data.withUnsafeBufferPointer { yp in
                dy.data.withUnsafeBufferPointer { gp in
                    for q in 0..<count {
                        let row = q &* c
                        for k in 0..<c where yp[row &+ k] > 0 {
                            let dz = Double(gp[row &+ k])
                            let xhat = Double((xp[row &+ k] - stats.mean[k]) * stats.inverseStd[k])
                            sumDz[k] += dz
                            sumDzXhat[k] += dz * xhat
                        }
                    }
                    let n = Float(count)
                    let meanDz = sumDz.map { Float($0) / n }
                    let meanDzXhat = sumDzXhat.map { Float($0) / n }
                    let factor = (0..<c).map { gamma[$0] * stats.inverseStd[$0] }
                    dx.data.withUnsafeMutableBufferPointer { out in
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
}
