import Foundation

/// What a training run does (`n2sp train`): T steps in all, the last `proSteps` of them with the
/// Noise2SamePro loss (the two-phase recipe of `reference-model.md` §4.2), counted from the global step at
/// which the run started so that a resumed run finishes the same plan.
public struct TrainingPlan: Codable, Sendable, Equatable {
    public var totalSteps: Int
    public var proSteps: Int = 0
    public var batchSize: Int = 4
    public var patchSize: Int = 64
    public var lambda: Float = 2
    /// "gaussian" or "donut".
    public var masking: String = "gaussian"
    public var seed: UInt64 = 0
    public var checkpointEvery: Int = 1000
    public var learningRate: Float = 4e-4
    /// Steps between halvings of the learning rate; nil = the reference's 5000 (an optional so that plans
    /// saved before this field existed still decode on --resume). Short runs scale it down so the rate
    /// still halves a few times (the reference's 5000 belongs to its 80k-step budget).
    public var learningRateDecaySteps: Int64? = nil
    /// Global step when the run began (filled in by `TrainingRun`).
    public var startStep: Int64 = 0

    public init(totalSteps: Int) { self.totalSteps = totalSteps }

    public var replacement: MaskReplacement {
        MaskReplacement.named(masking)
    }

    public var targetStep: Int64 { startStep + Int64(totalSteps) }

    /// The loss for the step that starts at `globalStep`.
    public func loss(atStep globalStep: Int64) -> LossKind {
        globalStep >= targetStep - Int64(proSteps) ? .noise2SamePro : .noise2Same(lambda: lambda)
    }

    public func validate() throws {
        func fail(_ why: String) -> TrainingRunError { .invalidPlan(why) }
        guard totalSteps >= 0 else { throw fail("--steps must not be negative") }
        guard proSteps >= 0, proSteps <= totalSteps else { throw fail("--pro-steps must be between 0 and --steps") }
        guard batchSize >= 1 else { throw fail("--batch must be at least 1") }
        guard patchSize >= 4 else { throw fail("--patch must be at least 4") }
        guard masking == "gaussian" || masking == "donut" else { throw fail("--masking must be gaussian or donut") }
        guard checkpointEvery >= 1 else { throw fail("--checkpoint-every must be at least 1") }
        guard lambda >= 0, learningRate > 0 else { throw fail("λ must be ≥ 0 and the learning rate > 0") }
        guard (learningRateDecaySteps ?? 1) >= 1 else { throw fail("--lr-decay-steps must be at least 1") }
    }

    static let metadataKey = "training.plan"

    func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    static func decoded(_ text: String) -> TrainingPlan? {
        try? JSONDecoder().decode(TrainingPlan.self, from: Data(text.utf8))
    }
}

public enum TrainingRunError: Error, CustomStringConvertible {
    case invalidPlan(String)
    case cannotResume(path: String, reason: String)
    case cannotSave(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidPlan(let why): "invalid training plan: \(why)"
        case .cannotResume(let path, let reason): "cannot resume from \(path): \(reason)"
        case .cannotSave(let path, let reason): "cannot write checkpoint \(path): \(reason)"
        }
    }
}
