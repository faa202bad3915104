import CheckpointImport
import Denoiser
import Foundation
import Trainer

/// The real fine-tuner: `Trainer.FineTune.run` (Noise2SamePro steps from the model's own weights and Adam
/// state) on the pool's training side, the held-out loss of base and candidate measured in eval mode on
/// identical masks, the candidate written as safetensors (with its optimizer state, so the next fine-tune
/// continues it).
public struct NoiseToSameProFineTuner: FineTuner {
    public var batchSize: Int
    /// Largest patch side; smaller when the pool's images are smaller.
    public var maximumPatchSize: Int
    /// A constant learning rate; nil: the trainer's fine-tuning default (`FineTune.Options.learningRate`).
    public var learningRate: Float?

    public init(batchSize: Int = 4, maximumPatchSize: Int = 64, learningRate: Float? = nil) {
        self.batchSize = batchSize
        self.maximumPatchSize = maximumPatchSize
        self.learningRate = learningRate
    }

    public func fineTune(
        _ request: FineTuneRequest, progress: @Sendable (Int) -> Void, shouldStop: @Sendable () -> Bool
    ) throws -> FineTuneMeasurement {
        guard let base = request.baseModel ?? DenoisingProcessorFactory.bundledModel() else {
            throw ModelLoadError.noModel(searched: DenoisingProcessorFactory.bundledModelCandidates().map(\.path))
        }
        let weights = try ModelWeights.load(from: base.path)
        // Patches must fit in every training image and be a multiple of the U-Net's 2^depth.
        let multiple = weights.architecture.paddingMultiple
        let smallestSide = try request.trainingFiles.map { url -> Int in
            let info = try ImageCodec.probe(url)
            return min(info.width, info.height)
        }.min() ?? 0
        let patch = min(maximumPatchSize, smallestSide / multiple * multiple)
        guard patch >= multiple else {
            throw FineTuneError.imagesTooSmall(smallestSide: smallestSide, needed: multiple)
        }
        var options = FineTune.Options(steps: request.stepBudget)
        options.batchSize = batchSize
        options.patchSize = patch
        if let learningRate { options.learningRate = learningRate }
        // Deterministic for a given base and pool, so a fine-tune can be reproduced from its inputs.
        options.seed = request.trainingFiles.map(\.lastPathComponent).joined().utf8
            .reduce(UInt64(0xcbf29ce484222325)) { ($0 ^ UInt64($1)) &* 0x100000001b3 }
        var stepsStarted = 0
        let result = try FineTune.run(from: weights, pool: request.trainingFiles, heldOut: request.heldOutFiles, options: options) {
            // Polled before each step: report the steps done so far, stop early when the daemon stops.
            progress(stepsStarted)
            stepsStarted += 1
            return !shouldStop()
        }
        progress(result.stepsRun)
        var candidate = result.weights
        candidate.metadata["n2spd.parent"] = request.baseVersion
        candidate.metadata["n2spd.held_out_loss"] = "\(result.before) -> \(result.after)"
        try SafetensorsFile.write(candidate, to: request.candidateOutput)
        return FineTuneMeasurement(steps: result.stepsRun, baselineLoss: result.before, candidateLoss: result.after)
    }
}

public enum FineTuneError: Error, CustomStringConvertible {
    case imagesTooSmall(smallestSide: Int, needed: Int)

    public var description: String {
        switch self {
        case .imagesTooSmall(let side, let needed):
            "the training pool has an image only \(side) pixels on a side; fine-tuning needs at least \(needed)"
        }
    }
}
