import CheckpointImport
import Denoiser
import Foundation

/// Fine-tuning for the daemon: continue a model on a pool of recent inputs with the Noise2SamePro loss and
/// report the held-out self-supervised loss before and after, so the caller can promote the candidate only
/// if it improved (`design.md`, daemon semantics).
public enum FineTune {
    public struct Options: Sendable {
        public var steps: Int
        public var batchSize: Int = 4
        public var patchSize: Int = 64
        public var seed: UInt64 = 0
        public var loss: LossKind = .noise2SamePro
        /// Masked-pixel replacement; nil = the one the model was trained with (`MaskReplacement.trainedWith`):
        /// fine-tuning a donut-trained model with Gaussian replacement made it worse (measured in docs/results.md).
        public var replacement: MaskReplacement? = nil
        /// A constant learning rate (default 5e-5: gentle, because the model is already trained), or nil for
        /// the reference's staircase schedule at the model's own global step — which is ≈ 0 for a model trained
        /// 80–90k steps (4e-4·0.5^16), so nil only makes sense for continuing a young run.
        public var learningRate: Float? = 5e-5
        /// The objective the held-out comparison uses; nil = Noise2Same with the λ the model was trained with
        /// (`LossKind.gate(forModelTrainedWith:)`). Not Noise2SamePro itself: its adaptive factor 2·sqrt(rec)
        /// rewards drifting toward the identity (rec → 0 makes the loss → 0 whatever inv is), so a collapsing
        /// candidate *lowers* it — measured: 500 Noise2SamePro steps took the default-model run from 26.66 to
        /// 23.55 dB on BSD68[:8] while its loss fell from 0.31 to 0.30. Noise2Same's fixed λ·sqrt(inv) does not.
        public var gateLoss: LossKind? = nil
        /// Held-out images are evaluated on a centred window of at most this size per side.
        public var validationSize: Int = 256

        public init(steps: Int) { self.steps = steps }
    }

    public struct Result: Sendable {
        public var weights: ModelWeights
        /// Held-out loss (eval mode, fixed masks) of the starting and of the fine-tuned model.
        public var before: Double
        public var after: Double
        public var stepsRun: Int
        public var trainingLosses: [StepLosses]
    }

    /// Runs up to `options.steps` steps on patches of `pool` (PNG/JPEG files), evaluating on `heldOut`
    /// (the pool itself when empty). `shouldContinue` is polled between steps so a scheduler can pre-empt.
    public static func run(
        from weights: ModelWeights, pool: [URL], heldOut: [URL] = [], options: Options,
        shouldContinue: () -> Bool = { true }
    ) throws -> Result {
        guard !pool.isEmpty else { throw TrainingDataError.noImages(path: "fine-tuning pool") }
        let channels = weights.architecture.inputChannels
        let validationFiles = heldOut.isEmpty ? pool : heldOut
        let validation = try validationFiles.map {
            try TrainingImageFile(url: $0, kind: .encoded).load().converted(toChannels: channels, path: $0.path)
        }
        let replacement = options.replacement ?? MaskReplacement.trainedWith(weights.metadata)
        var config = TrainingConfig(loss: options.loss, replacement: replacement)
        if let lr = options.learningRate { config.schedule = LearningRateSchedule(initial: lr, decaySteps: .max, decayRate: 1) }
        let trainer = try Trainer(weights: weights, config: config)
        let gate = options.gateLoss ?? LossKind.gate(forModelTrainedWith: weights.metadata)
        let before = try trainer.validationLoss(images: validation, seed: options.seed ^ 0xF1E1,
                                                maxSize: options.validationSize, loss: gate).total
        let sampler = PatchSampler(files: pool.map { TrainingImageFile(url: $0, kind: .encoded) },
                                   patchSize: options.patchSize, channels: channels, seed: options.seed)
        let sigma = replacement.samplerNoiseSigma
        var losses: [StepLosses] = []
        while losses.count < options.steps && shouldContinue() {
            losses.append(try trainer.step(batch: try sampler.nextBatch(size: options.batchSize, noiseSigma: sigma)))
        }
        let after = try trainer.validationLoss(images: validation, seed: options.seed ^ 0xF1E1,
                                               maxSize: options.validationSize, loss: gate).total
        trainer.setMetadata("fine_tune", "\(losses.count) steps \(options.loss) on \(pool.count) images; held-out \(gate) loss \(before) -> \(after)")
        return Result(weights: trainer.weights, before: before, after: after, stepsRun: losses.count, trainingLosses: losses)
    }
}
