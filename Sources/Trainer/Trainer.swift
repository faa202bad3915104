import CheckpointImport
import Denoiser

public enum TrainerError: Error, CustomStringConvertible {
    case invalidModel(String)
    case invalidBatch(String)

    public var description: String {
        switch self {
        case .invalidModel(let why): "cannot train this model: \(why)"
        case .invalidBatch(let why): "invalid training batch: \(why)"
        }
    }
}

/// Everything one training step computed, for parity checks and diagnostics (`Trainer.evaluateStep`).
public struct StepDiagnostics {
    public var losses: StepLosses
    /// Output of the masked pass (preds) and of the unmasked pass (rawpreds), NHWC.
    public var maskedPredictions: [Float]
    public var rawPredictions: [Float]
    /// ∂L/∂variable for every trainable variable, by TF name.
    public var gradients: [String: [Float]]
    /// Batch mean and unbiased variance of every batch norm (name relative to `main_unet/`) in each pass.
    public var maskedBatchStatistics: [String: (mean: [Float], unbiasedVariance: [Float])]
    public var rawBatchStatistics: [String: (mean: [Float], unbiasedVariance: [Float])]
}

/// Noise2Same / Noise2SamePro training of one model: the two-pass forward, the self-supervised loss, the
/// backward pass, batch-norm moving averages (two EMA updates per step, masked pass first) and TF1 Adam with
/// its global step (`reference-model.md` §3–4).
public final class Trainer {
    public var config: TrainingConfig {
        didSet { graph.batchNormEpsilon = config.batchNormEpsilon }
    }
    public private(set) var globalStep: Int64
    public let architecture: ModelArchitecture

    let layout: NetworkLayout
    var graph: TrainingGraph
    var parameters: [FloatTensor]
    var firstMoments: [[Float]]
    var secondMoments: [[Float]]
    var beta1Power: Float
    var beta2Power: Float
    private var metadata: [String: String]
    private let trainable: [Int]

    /// Starts from `weights`; its Adam state and global step are continued when present, otherwise Adam
    /// starts fresh (m = v = 0, powers β1, β2) at step `weights.globalStep ?? 0`.
    public init(weights: ModelWeights, config: TrainingConfig) throws {
        let layout: NetworkLayout
        do {
            try weights.validate()
            layout = try NetworkLayout(architecture: weights.architecture)
        } catch {
            throw TrainerError.invalidModel("\(error)")
        }
        self.layout = layout
        self.config = config
        architecture = weights.architecture
        graph = TrainingGraph(layout: layout, batchNormEpsilon: config.batchNormEpsilon, threads: Parallel.processorCount,
                              weightGradientAlgorithm: config.weightGradientAlgorithm)
        parameters = layout.specs.map { weights.parameters[$0.name]! }
        let trainable = layout.specs.indices.filter { layout.specs[$0].role.isTrainable }
        self.trainable = trainable
        globalStep = weights.globalStep ?? 0
        metadata = weights.metadata
        firstMoments = layout.specs.map { [Float](repeating: 0, count: $0.role.isTrainable ? $0.count : 0) }
        secondMoments = firstMoments
        beta1Power = config.adam.beta1
        beta2Power = config.adam.beta2
        if let adam = weights.adam {
            for i in trainable {
                let spec = layout.specs[i]
                guard let m = adam.firstMoments[spec.name], let v = adam.secondMoments[spec.name],
                      m.shape == spec.shape, v.shape == spec.shape
                else { throw TrainerError.invalidModel("Adam state lacks '\(spec.name)' with shape \(spec.shape)") }
                firstMoments[i] = m.values
                secondMoments[i] = v.values
            }
            beta1Power = adam.beta1Power
            beta2Power = adam.beta2Power
        }
    }

    /// The current model, including Adam state and global step, so that training can continue from it.
    public var weights: ModelWeights {
        var params: [String: FloatTensor] = [:]
        var m: [String: FloatTensor] = [:], v: [String: FloatTensor] = [:]
        for (i, spec) in layout.specs.enumerated() {
            params[spec.name] = parameters[i]
            if spec.role.isTrainable {
                m[spec.name] = FloatTensor(shape: spec.shape, values: firstMoments[i])
                v[spec.name] = FloatTensor(shape: spec.shape, values: secondMoments[i])
            }
        }
        return ModelWeights(
            architecture: architecture, parameters: params,
            adam: AdamState(firstMoments: m, secondMoments: v, beta1Power: beta1Power, beta2Power: beta2Power),
            globalStep: globalStep, metadata: metadata)
    }

    /// Provenance entries merged into `weights.metadata`.
    public func setMetadata(_ key: String, _ value: String) { metadata[key] = value }

    // MARK: steps

    /// One full training step: forward both passes, loss, backward, moving averages, Adam, global step + 1.
    @discardableResult
    public func step(batch: TrainingBatch) throws -> StepLosses {
        let result = try run(batch, keepDiagnostics: false)
        applyUpdates(gradients: result.gradients, maskedCache: result.maskedStatistics, rawCache: result.rawStatistics)
        return result.losses
    }

    /// Computes everything a step would, without changing any state.
    public func evaluateStep(batch: TrainingBatch) throws -> StepDiagnostics {
        let result = try run(batch, keepDiagnostics: true)
        var grads: [String: [Float]] = [:]
        for i in trainable { grads[layout.specs[i].name] = result.gradients[i] }
        func table(_ stats: [(slots: BatchNormSlots, statistics: BatchNormStatistics)])
            -> [String: (mean: [Float], unbiasedVariance: [Float])] {
            var out: [String: (mean: [Float], unbiasedVariance: [Float])] = [:]
            for entry in stats { out[entry.slots.name] = (entry.statistics.mean, entry.statistics.unbiasedVariance) }
            return out
        }
        return StepDiagnostics(
            losses: result.losses, maskedPredictions: result.masked, rawPredictions: result.raw, gradients: grads,
            maskedBatchStatistics: table(result.maskedStatistics), rawBatchStatistics: table(result.rawStatistics))
    }

    /// Applies externally computed gradients (indexed like `weights.parameters`, trainable variables only)
    /// with Adam and advances the global step; moving statistics are left alone.
    public func applyGradients(_ gradients: [String: [Float]]) throws {
        var g = layout.specs.map { [Float](repeating: 0, count: $0.role.isTrainable ? $0.count : 0) }
        for i in trainable {
            let name = layout.specs[i].name
            guard let values = gradients[name], values.count == layout.specs[i].count else {
                throw TrainerError.invalidModel("no gradient of the right size for '\(name)'")
            }
            g[i] = values
        }
        adamStep(g)
    }

    struct RunResult {
        var losses: StepLosses
        var masked: [Float]
        var raw: [Float]
        var gradients: [[Float]]
        var maskedStatistics: [(slots: BatchNormSlots, statistics: BatchNormStatistics)]
        var rawStatistics: [(slots: BatchNormSlots, statistics: BatchNormStatistics)]
    }

    private func run(_ batch: TrainingBatch, keepDiagnostics: Bool) throws -> RunResult {
        try checkBatch(batch)
        // One OpenBLAS thread for the whole step, the cores shared by worker-mode ops and `SplitGEMM`
        // (see there for why and what it measured); the caller's setting is restored afterwards.
        let blasThreads = GEMM.threads
        if blasThreads != 1 { GEMM.setThreads(1) }
        defer { if blasThreads != 1 { GEMM.setThreads(blasThreads) } }
        let (x, xm, shape) = try inputs(batch)
        // Masked pass first, as the reference builds it (only the moving-average order depends on it).
        let (preds, maskedCache) = graph.forward(xm, parameters: parameters, training: true)
        let (rawPreds, rawCache) = graph.forward(x, parameters: parameters, training: true)
        let loss = SelfSupervisedLoss.evaluate(
            kind: config.loss, features: batch.features, mask: batch.mask, rawPredictions: rawPreds.values,
            maskedPredictions: preds.values)
        var gradients = layout.specs.map { [Float](repeating: 0, count: $0.role.isTrainable ? $0.count : 0) }
        graph.backward(Tensor(shape: shape, values: loss.gradientRaw), cache: rawCache!, parameters: parameters,
                       gradients: &gradients)
        graph.backward(Tensor(shape: shape, values: loss.gradientMasked), cache: maskedCache!, parameters: parameters,
                       gradients: &gradients)
        return RunResult(
            losses: loss.losses, masked: keepDiagnostics ? preds.values : [], raw: keepDiagnostics ? rawPreds.values : [],
            gradients: gradients, maskedStatistics: maskedCache!.statistics, rawStatistics: rawCache!.statistics)
    }

    /// x and the masked input x_m = (1 − m)·x + m·r for the configured replacement r.
    private func inputs(_ batch: TrainingBatch) throws -> (Tensor, Tensor, TensorShape) {
        let replacement: [Float]
        switch config.replacement {
        case .donut:
            var r = [Float](repeating: 0, count: batch.features.count)
            batch.features.withUnsafeBufferPointer { x in
                r.withUnsafeMutableBufferPointer { out in
                    MaskReplacement.donut(x, into: out, batch: batch.batch, height: batch.height, width: batch.width,
                                          channels: batch.channels)
                }
            }
            replacement = r
        case .gaussian:
            guard let noise = batch.noise else { throw TrainerError.invalidBatch("Gaussian masking needs the batch's noise") }
            replacement = noise
        }
        let shape = TensorShape(batch: batch.batch, height: batch.height, width: batch.width, channels: batch.channels)
        let x = Tensor(shape: shape, values: batch.features)
        let xm = Tensor(shape: shape, values: MaskReplacement.apply(features: batch.features, mask: batch.mask,
                                                                   replacement: replacement))
        return (x, xm, shape)
    }

    /// The network output in eval mode (batch norm with moving statistics), unfused — what the validation
    /// loss sees, and what `InferenceEngine.forward` must reproduce for this model.
    public func inferenceForward(_ input: Tensor) -> Tensor {
        graph.forward(input, parameters: parameters, training: false).0
    }

    /// Both passes in inference mode (moving statistics, no state change) and the loss (`loss`, default the
    /// training loss): validation.
    func evaluateInference(batch: TrainingBatch, loss: LossKind? = nil) throws -> StepLosses {
        try checkBatch(batch)
        let (x, xm, _) = try inputs(batch)
        let (preds, _) = graph.forward(xm, parameters: parameters, training: false)
        let (rawPreds, _) = graph.forward(x, parameters: parameters, training: false)
        return SelfSupervisedLoss.evaluate(
            kind: loss ?? config.loss, features: batch.features, mask: batch.mask, rawPredictions: rawPreds.values,
            maskedPredictions: preds.values).losses
    }

    private func checkBatch(_ batch: TrainingBatch) throws {
        guard batch.channels == architecture.inputChannels else {
            throw TrainerError.invalidBatch("\(batch.channels) channels, the model has \(architecture.inputChannels)")
        }
        let multiple = 1 << (architecture.depth - 1)
        guard batch.height % multiple == 0, batch.width % multiple == 0 else {
            throw TrainerError.invalidBatch("patch \(batch.height)×\(batch.width) is not divisible by \(multiple)")
        }
    }

    private func applyUpdates(
        gradients: [[Float]], maskedCache: [(slots: BatchNormSlots, statistics: BatchNormStatistics)],
        rawCache: [(slots: BatchNormSlots, statistics: BatchNormStatistics)]
    ) {
        // TF runs the UPDATE_OPS before the Adam step (control dependency); they touch disjoint variables.
        for pass in [maskedCache, rawCache] {
            for entry in pass {
                BatchNorm.updateMovingAverage(&parameters[entry.slots.movingMean].values, toward: entry.statistics.mean,
                                              momentum: config.batchNormMomentum)
                BatchNorm.updateMovingAverage(&parameters[entry.slots.movingVariance].values,
                                              toward: entry.statistics.unbiasedVariance, momentum: config.batchNormMomentum)
            }
        }
        adamStep(gradients)
    }

    private func adamStep(_ gradients: [[Float]]) {
        let lr = config.schedule.learningRate(atStep: globalStep)
        let alpha = AdamUpdate.stepSize(learningRate: lr, beta1Power: beta1Power, beta2Power: beta2Power)
        for i in trainable {
            parameters[i].values.withUnsafeMutableBufferPointer { w in
                firstMoments[i].withUnsafeMutableBufferPointer { m in
                    secondMoments[i].withUnsafeMutableBufferPointer { v in
                        gradients[i].withUnsafeBufferPointer { g in
                            AdamUpdate.apply(weights: w, m: m, v: v, gradient: g, stepSize: alpha, hyper: config.adam)
                        }
                    }
                }
            }
        }
        beta1Power *= config.adam.beta1
        beta2Power *= config.adam.beta2
        globalStep += 1
    }
}
