import Foundation

/// TF1 `AdamOptimizer` exactly as `ApplyAdam` runs it in float32 (`reference-model.md` §3.5):
/// lr_t = lr·√(1 − β2^t)/(1 − β1^t) from the *pre-step* powers, m += (g − m)(1 − β1),
/// v += (g² − v)(1 − β2), w −= lr_t·m/(√v + ε̂); afterwards β1^t ×= β1, β2^t ×= β2 (float32 products).
public struct AdamHyperparameters: Sendable, Equatable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public init() {}
}

/// Staircase exponential decay: lr·rate^floor(step/decaySteps), evaluated at the pre-increment global step.
public struct LearningRateSchedule: Sendable, Equatable {
    public var initial: Float = 4e-4
    public var decaySteps: Int64 = 5000
    public var decayRate: Float = 0.5
    public init(initial: Float = 4e-4, decaySteps: Int64 = 5000, decayRate: Float = 0.5) {
        self.initial = initial
        self.decaySteps = decaySteps
        self.decayRate = decayRate
    }

    public func learningRate(atStep step: Int64) -> Float {
        let exponent = Float(step / max(decaySteps, 1))
        return initial * powf(decayRate, exponent)
    }
}

public enum AdamUpdate {
    /// lr_t for this step, in float32 as TF computes it.
    public static func stepSize(learningRate lr: Float, beta1Power: Float, beta2Power: Float) -> Float {
        lr * (1 - beta2Power).squareRoot() / (1 - beta1Power)
    }

    /// Applies one update to `weights` with moments `m`, `v` (all the same length as `gradient`).
    public static func apply(
        weights: UnsafeMutableBufferPointer<Float>, m: UnsafeMutableBufferPointer<Float>,
        v: UnsafeMutableBufferPointer<Float>, gradient g: UnsafeBufferPointer<Float>,
        stepSize alpha: Float, hyper: AdamHyperparameters
    ) {
        precondition(weights.count == g.count && m.count == g.count && v.count == g.count)
        let oneMinusB1 = 1 - hyper.beta1, oneMinusB2 = 1 - hyper.beta2, eps = hyper.epsilon
        for i in 0..<g.count {
            let gi = g[i]
            let mi = m[i] + (gi - m[i]) * oneMinusB1
            let vi = v[i] + (gi * gi - v[i]) * oneMinusB2
            m[i] = mi
            v[i] = vi
            weights[i] -= (mi * alpha) / (vi.squareRoot() + eps)
        }
    }
}
