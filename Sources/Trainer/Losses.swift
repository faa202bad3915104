import Foundation

/// The self-supervised objective (`reference-model.md` §3.4, §4.1).
public enum LossKind: Sendable, Equatable, CustomStringConvertible {
    /// Noise2Same: rec + λ·sqrt(inv) (λ = 2 by default; 0.95 in the BSD68 notebook).
    case noise2Same(lambda: Float)
    /// Noise2SamePro: rec + 2·sqrt(rec)·sqrt(inv), no stop-gradient on the adaptive factor.
    case noise2SamePro

    public var description: String {
        switch self {
        case .noise2Same(let lambda): "Noise2Same(λ \(lambda))"
        case .noise2SamePro: "Noise2SamePro"
        }
    }
}

extension LossKind {
    /// The held-out objective that decides whether a fine-tuned model replaces its parent: Noise2Same with the
    /// λ of the model's training plan (`training.plan` metadata written by `n2sp train`; 2, the reference
    /// default, when there is none, e.g. an imported TF checkpoint). See `FineTune.Options.gateLoss`.
    public static func gate(forModelTrainedWith metadata: [String: String]) -> LossKind {
        if let plan = metadata["training.plan"], let data = plan.data(using: .utf8),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let lambda = (object["lambda"] as? NSNumber)?.floatValue, lambda > 0 {
            return .noise2Same(lambda: lambda)
        }
        return .noise2Same(lambda: 2)
    }
}

/// The loss terms of one step (or one validation evaluation).
public struct StepLosses: Sendable, Equatable {
    /// mean((rawpreds − x)²) over every element.
    public var reconstruction: Double
    /// Σ m·(rawpreds − preds)² / Σ m, pooled over the batch.
    public var invariance: Double
    /// Σ m·(x − preds)² / Σ m (logged only, never optimised).
    public var blindSpot: Double
    /// The optimised objective.
    public var total: Double

    public init(reconstruction: Double, invariance: Double, blindSpot: Double, total: Double) {
        self.reconstruction = reconstruction
        self.invariance = invariance
        self.blindSpot = blindSpot
        self.total = total
    }
}

/// Loss values plus the gradients of the total w.r.t. both network outputs.
public struct LossEvaluation {
    public var losses: StepLosses
    /// ∂L/∂rawpreds (the unmasked pass's output).
    public var gradientRaw: [Float]
    /// ∂L/∂preds (the masked pass's output).
    public var gradientMasked: [Float]
}

public enum SelfSupervisedLoss {
    /// Evaluates the loss and its gradients. Sums run in Double; gradients are returned in Float.
    ///
    /// Chain rule: ∂rec/∂r = 2(r − x)/n; ∂inv/∂r = 2m(r − p)/Σm = −∂inv/∂p. With L = f(rec, inv):
    /// Noise2Same ∂L/∂rec = 1, ∂L/∂inv = λ/(2√inv); Noise2SamePro ∂L/∂rec = 1 + √inv/√rec,
    /// ∂L/∂inv = √rec/√inv. sqrt has an infinite slope at 0 (TF does not guard it); we take the
    /// one-sided limit 0 for a zero term instead, so a degenerate batch (no masked pixel, or a perfect
    /// fit) yields a finite step rather than NaN weights.
    public static func evaluate(
        kind: LossKind, features x: [Float], mask m: [Float], rawPredictions r: [Float], maskedPredictions p: [Float]
    ) -> LossEvaluation {
        precondition(x.count == m.count && x.count == r.count && x.count == p.count)
        let n = x.count
        var recSum = 0.0, invSum = 0.0, bspSum = 0.0, maskSum = 0.0
        for i in 0..<n {
            let dr = Double(r[i]) - Double(x[i])
            recSum += dr * dr
            let mi = Double(m[i])
            if mi != 0 {
                let di = Double(r[i]) - Double(p[i])
                let db = Double(x[i]) - Double(p[i])
                invSum += mi * di * di
                bspSum += mi * db * db
                maskSum += mi
            }
        }
        let rec = recSum / Double(n)
        let inv = maskSum > 0 ? invSum / maskSum : 0
        let bsp = maskSum > 0 ? bspSum / maskSum : 0
        let sqrtInv = inv.squareRoot(), sqrtRec = rec.squareRoot()

        let total: Double
        let dRec: Double, dInv: Double
        switch kind {
        case .noise2Same(let lambda):
            total = rec + Double(lambda) * sqrtInv
            dRec = 1
            dInv = sqrtInv > 0 ? Double(lambda) / (2 * sqrtInv) : 0
        case .noise2SamePro:
            total = rec + 2 * sqrtRec * sqrtInv
            dRec = sqrtRec > 0 ? 1 + sqrtInv / sqrtRec : 1
            dInv = sqrtInv > 0 ? sqrtRec / sqrtInv : 0
        }

        var gRaw = [Float](repeating: 0, count: n)
        var gMasked = [Float](repeating: 0, count: n)
        let recScale = 2 * dRec / Double(n)
        let invScale = maskSum > 0 ? 2 * dInv / maskSum : 0
        for i in 0..<n {
            var g = recScale * (Double(r[i]) - Double(x[i]))
            let mi = Double(m[i])
            if mi != 0 {
                let gi = invScale * mi * (Double(r[i]) - Double(p[i]))
                g += gi
                gMasked[i] = Float(-gi)
            }
            gRaw[i] = Float(g)
        }
        return LossEvaluation(
            losses: StepLosses(reconstruction: rec, invariance: inv, blindSpot: bsp, total: total),
            gradientRaw: gRaw, gradientMasked: gMasked)
    }
}
