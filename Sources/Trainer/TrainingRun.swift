import CheckpointImport
import Denoiser
import Foundation
import Synchronization

/// Progress of a run, reported after every step.
public struct TrainingProgress: Sendable {
    public var globalStep: Int64
    public var completedSteps: Int
    public var totalSteps: Int
    public var loss: LossKind
    public var losses: StepLosses
    public var stepsPerSecond: Double
    public var secondsRemaining: Double
    /// Set on the steps where a validation ran (at checkpoints and at the end).
    public var validation: StepLosses?
    /// Set when a checkpoint was written after this step.
    public var checkpoint: URL?
}

public struct TrainingSummary: Sendable {
    public var startStep: Int64
    public var finalStep: Int64
    public var stepsRun: Int
    public var seconds: Double
    public var firstLosses: StepLosses?
    public var lastLosses: StepLosses?
    public var validation: StepLosses?
    public var stoppedEarly: Bool
    public var output: URL
}

/// Cooperative stop request (set from a signal handler's queue, read by the training loop).
public final class StopRequest: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func request() { flag.store(true, ordering: .relaxed) }
    public var isRequested: Bool { flag.load(ordering: .relaxed) }
}

/// A whole training run: sampling, the two-phase loss schedule, checkpoints every N steps and on stop,
/// validation in eval mode, and resume. Deterministic for a plan's seed: the sampler's generator state is
/// saved in every checkpoint, so an interrupted and resumed run draws the same batches as an uninterrupted one.
public final class TrainingRun {
    public let plan: TrainingPlan
    public let output: URL
    public let trainer: Trainer
    public let sampler: PatchSampler
    public let validationImages: [FloatImage]
    public let stop = StopRequest()
    /// Where to keep a copy of the model as it stands when the Noise2Same phase ends (just before the first
    /// Noise2SamePro step), so a run whose Pro phase degrades the model still yields its phase-one model.
    public var phaseOneOutput: URL?

    static let rngKey = "training.rng_state"

    /// A new run (from scratch, our safetensors or an imported TF checkpoint, whose Adam state and step are
    /// continued when present).
    public convenience init(weights: ModelWeights, plan: TrainingPlan, training: [TrainingImageFile],
                            validation: [FloatImage], output: URL) throws {
        var plan = plan
        plan.startStep = weights.globalStep ?? 0
        try self.init(weights: weights, startedPlan: plan, training: training, validation: validation, output: output)
    }

    /// `plan.startStep` already set (a new run, or the saved plan of a resumed one).
    private init(weights: ModelWeights, startedPlan plan: TrainingPlan, training: [TrainingImageFile],
                 validation: [FloatImage], output: URL) throws {
        try plan.validate()
        self.plan = plan
        self.output = output
        trainer = try Trainer(weights: weights, config: Self.config(for: plan))
        sampler = PatchSampler(files: training, patchSize: plan.patchSize, channels: weights.architecture.inputChannels,
                               seed: plan.seed)
        validationImages = validation
        let multiple = 1 << (weights.architecture.depth - 1)
        guard plan.patchSize % multiple == 0 else {
            throw TrainingRunError.invalidPlan("--patch \(plan.patchSize) must be a multiple of \(multiple) for depth \(weights.architecture.depth)")
        }
    }

    /// Continues the run saved in `output` (plan, weights, Adam state, step and sampler state from its metadata).
    public static func resume(from output: URL, training: [TrainingImageFile], validation: [FloatImage]) throws -> TrainingRun {
        let weights: ModelWeights
        do { weights = try ModelWeights.load(from: output.path) } catch {
            throw TrainingRunError.cannotResume(path: output.path, reason: "\(error)")
        }
        guard let text = weights.metadata[TrainingPlan.metadataKey], let plan = TrainingPlan.decoded(text) else {
            throw TrainingRunError.cannotResume(path: output.path, reason: "no '\(TrainingPlan.metadataKey)' metadata (not written by n2sp train)")
        }
        guard weights.adam != nil, weights.globalStep != nil else {
            throw TrainingRunError.cannotResume(path: output.path, reason: "the file has no optimizer state")
        }
        let run = try TrainingRun(weights: weights, startedPlan: plan, training: training, validation: validation, output: output)
        if let words = weights.metadata[rngKey]?.split(separator: ",").compactMap({ UInt64($0, radix: 16) }),
           let rng = TrainingRandom(stateWords: words) {
            run.sampler.random = rng
        } else {
            throw TrainingRunError.cannotResume(path: output.path, reason: "no sampler state '\(rngKey)' in the metadata")
        }
        return run
    }

    static func config(for plan: TrainingPlan) -> TrainingConfig {
        TrainingConfig(loss: plan.loss(atStep: plan.startStep), replacement: plan.replacement,
                       schedule: LearningRateSchedule(initial: plan.learningRate,
                                                      decaySteps: plan.learningRateDecaySteps ?? 5000))
    }

    /// Runs until the plan's target step or a stop request; writes a checkpoint every `checkpointEvery` steps,
    /// at the end and on stop.
    public func run(progress: (TrainingProgress) -> Void = { _ in }) throws -> TrainingSummary {
        let begin = Date()
        let firstStep = trainer.globalStep
        var stepsRun = 0
        var first: StepLosses?, last: StepLosses?, validation: StepLosses?
        var savedStep: Int64? = nil
        let noiseSigma = plan.replacement.samplerNoiseSigma
        while trainer.globalStep < plan.targetStep && !stop.isRequested {
            trainer.config.loss = plan.loss(atStep: trainer.globalStep)
            let batch = try sampler.nextBatch(size: plan.batchSize, noiseSigma: noiseSigma)
            let losses = try trainer.step(batch: batch)
            stepsRun += 1
            if first == nil { first = losses }
            last = losses
            let done = trainer.globalStep >= plan.targetStep
            if let phaseOneOutput, plan.proSteps > 0, plan.proSteps < plan.totalSteps,
               trainer.globalStep == plan.targetStep - Int64(plan.proSteps) {
                try saveCheckpoint(to: phaseOneOutput)
            }
            var report = TrainingProgress(
                globalStep: trainer.globalStep, completedSteps: Int(trainer.globalStep - plan.startStep),
                totalSteps: plan.totalSteps, loss: trainer.config.loss, losses: losses, stepsPerSecond: 0,
                secondsRemaining: 0)
            let elapsed = Date().timeIntervalSince(begin)
            report.stepsPerSecond = Double(stepsRun) / max(elapsed, 1e-9)
            report.secondsRemaining = Double(plan.targetStep - trainer.globalStep) / max(report.stepsPerSecond, 1e-9)
            if done || stop.isRequested || Int(trainer.globalStep - plan.startStep) % plan.checkpointEvery == 0 {
                if !validationImages.isEmpty {
                    validation = try trainer.validationLoss(images: validationImages)
                    report.validation = validation
                }
                try saveCheckpoint()
                savedStep = trainer.globalStep
                report.checkpoint = output
            }
            progress(report)
        }
        // A stop requested during the last progress report, or nothing to do: make sure the file is current.
        if savedStep != trainer.globalStep { try saveCheckpoint() }
        return TrainingSummary(
            startStep: firstStep, finalStep: trainer.globalStep, stepsRun: stepsRun,
            seconds: Date().timeIntervalSince(begin), firstLosses: first, lastLosses: last, validation: validation,
            stoppedEarly: trainer.globalStep < plan.targetStep, output: output)
    }

    /// The current state with the plan and sampler state in its metadata, written atomically.
    public func saveCheckpoint(to file: URL? = nil) throws {
        let output = file ?? self.output
        trainer.setMetadata(TrainingPlan.metadataKey, plan.encoded())
        trainer.setMetadata(Self.rngKey, sampler.random.stateWords.map { String($0, radix: 16) }.joined(separator: ","))
        trainer.setMetadata("training.loss", "\(trainer.config.loss)")
        trainer.setMetadata("training.masking", plan.masking)
        trainer.setMetadata(ModelWeights.MetadataKey.normalization, ModelWeights.normalizationPolicy)
        do { try SafetensorsFile.write(trainer.weights, to: output) } catch {
            throw TrainingRunError.cannotSave(path: output.path, reason: "\(error)")
        }
    }
}
