import Foundation

/// The learning side, behind a protocol like the image work: the daemon decides when to fine-tune, on
/// which files, and whether to keep the result; a `FineTuner` runs Noise2SamePro steps and measures losses.
public protocol FineTuner: Sendable {
    /// Continues training `request.baseModel` (with its optimizer state when it has one) for at most
    /// `request.stepBudget` steps on `request.trainingFiles`, writes the candidate to `request.candidateOutput`
    /// (safetensors), and measures the self-supervised validation loss of both the base and the candidate
    /// on `request.heldOutFiles`. Should return early (with what it has) when `shouldStop()` says so.
    func fineTune(
        _ request: FineTuneRequest, progress: @Sendable (Int) -> Void, shouldStop: @Sendable () -> Bool
    ) throws -> FineTuneMeasurement
}

public struct FineTuneRequest: Sendable, Equatable {
    /// The current model file (nil: the processor's built-in default).
    public var baseModel: URL?
    public var baseVersion: String
    public var trainingFiles: [URL]
    public var heldOutFiles: [URL]
    public var stepBudget: Int
    public var candidateOutput: URL
}

public struct FineTuneMeasurement: Sendable, Equatable {
    public var steps: Int
    /// Validation loss of the base model on the held-out files.
    public var baselineLoss: Double
    /// Validation loss of the candidate on the same files.
    public var candidateLoss: Double

    public init(steps: Int, baselineLoss: Double, candidateLoss: Double) {
        self.steps = steps
        self.baselineLoss = baselineLoss
        self.candidateLoss = candidateLoss
    }
}

/// The result of one fine-tune as shown in the status.
public struct FineTuneOutcome: Codable, Sendable, Equatable {
    public var time: Date
    public var promoted: Bool
    /// The new version when promoted.
    public var version: String?
    public var baseVersion: String
    public var steps: Int
    public var baselineLoss: Double?
    public var candidateLoss: Double?
    public var message: String
}
