import Foundation

/// What importing a TF checkpoint found, beyond the weights themselves (printed by `n2sp import-checkpoint`).
public struct CheckpointImportReport: Sendable, Equatable {
    public var prefix: String
    public var architecture: ModelArchitecture
    /// Trainable parameters (the paper model: 5,563,680).
    public var trainableParameterCount: Int
    /// `global_step` of the checkpoint, if it has one.
    public var sourceStep: Int64?
    /// Tensors that are neither model variables nor optimizer state; they were ignored.
    public var unusedTensors: [String]
    /// Optimizer tensors present in the checkpoint but not imported (`keepOptimizerState: false`).
    public var droppedOptimizerTensors: [String]
}

extension ModelWeights {
    /// Metadata keys the importer fills in (and the safetensors writer stores).
    public enum MetadataKey {
        public static let sourceCheckpoint = "source_checkpoint"
        public static let sourceStep = "source_step"
        public static let normalization = "normalization"
    }

    /// The input normalization every Noise2Same model here expects: each image standardised with its own
    /// mean and population standard deviation (`(x - x.mean()) / x.std()` in the reference notebooks).
    public static let normalizationPolicy = "per-image z-score, population std"

    /// Imports a Noise2Same TensorFlow checkpoint (prefix, `.index`, or model directory): infers the
    /// architecture, checks every variable it needs is present with the right shape, keeps batch-norm
    /// moving statistics and, if asked, the Adam state and `global_step`.
    public static func importCheckpoint(at path: String, keepOptimizerState: Bool) throws(CheckpointError) -> ModelWeights {
        try importCheckpointWithReport(at: path, keepOptimizerState: keepOptimizerState).weights
    }

    /// `importCheckpoint` plus what was found: step, unused tensors, dropped optimizer state.
    public static func importCheckpointWithReport(
        at path: String, keepOptimizerState: Bool
    ) throws(CheckpointError) -> (weights: ModelWeights, report: CheckpointImportReport) {
        let bundle = try CheckpointBundle(path: path)
        return try importCheckpoint(bundle, keepOptimizerState: keepOptimizerState)
    }

    public static func importCheckpoint(
        _ bundle: CheckpointBundle, keepOptimizerState: Bool
    ) throws(CheckpointError) -> (weights: ModelWeights, report: CheckpointImportReport) {
        let file = bundle.indexPath
        let shapes = Dictionary(bundle.entries.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        let architecture: ModelArchitecture
        do {
            architecture = try ArchitectureInference.infer(from: shapes)
        } catch {
            switch error {
            case .threeDimensional(let tensor, let shape): throw .threeDimensionalModel(file: file, tensor: tensor, shape: shape)
            case .notNoise2Same(let reason): throw .notANoise2SameModel(file: file, reason: reason)
            }
        }

        var used = Set<String>()
        var parameters: [String: FloatTensor] = [:]
        let specs = architecture.parameterSpecs
        for spec in specs {
            guard let shape = shapes[spec.name] else { throw .missingParameter(file: file, tensor: spec.name) }
            guard shape == spec.shape else {
                throw .parameterShapeMismatch(file: file, tensor: spec.name, expected: spec.shape, found: shape)
            }
            parameters[spec.name] = try bundle.floatTensor(spec.name)
            used.insert(spec.name)
        }

        // Adam (TF1 AdamOptimizer): slots `<v>/Adam` (m) and `<v>/Adam_1` (v) per trainable variable, plus
        // the running powers. global_step is kept with the optimizer state: it drives the learning-rate decay.
        var optimizerNames: [String] = []
        for spec in specs where spec.role.isTrainable {
            for slot in ["/Adam", "/Adam_1"] where bundle.contains(spec.name + slot) {
                optimizerNames.append(spec.name + slot)
            }
        }
        for name in ["beta1_power", "beta2_power", "global_step"] where bundle.contains(name) {
            optimizerNames.append(name)
        }
        let sourceStep: Int64? = bundle.contains("global_step") ? try bundle.int64Scalar("global_step") : nil

        var adam: AdamState?
        var globalStep: Int64?
        if keepOptimizerState {
            adam = try adamState(bundle, specs: specs)
            globalStep = sourceStep
            used.formUnion(optimizerNames)
        }
        let dropped = keepOptimizerState ? [] : optimizerNames.sorted()
        used.formUnion(dropped)
        let unused = bundle.entries.map(\.name).filter { !used.contains($0) }

        var metadata = [
            // absolute, so the provenance still means something when the model file is moved
            MetadataKey.sourceCheckpoint: URL(fileURLWithPath: bundle.prefix).standardizedFileURL.path,
            MetadataKey.normalization: normalizationPolicy,
        ]
        if let sourceStep { metadata[MetadataKey.sourceStep] = String(sourceStep) }
        let weights = ModelWeights(
            architecture: architecture, parameters: parameters, adam: adam, globalStep: globalStep, metadata: metadata)
        let report = CheckpointImportReport(
            prefix: bundle.prefix, architecture: architecture,
            trainableParameterCount: architecture.trainableParameterCount, sourceStep: sourceStep,
            unusedTensors: unused, droppedOptimizerTensors: dropped)
        return (weights, report)
    }

    /// The Adam state if the checkpoint has all of it; nil if it has none (e.g. an exported inference model).
    /// A partial state cannot continue training exactly, so it is an error rather than silently dropped.
    private static func adamState(_ bundle: CheckpointBundle, specs: [ParameterSpec]) throws(CheckpointError) -> AdamState? {
        let trainable = specs.filter { $0.role.isTrainable }
        let required = trainable.flatMap { [$0.name + "/Adam", $0.name + "/Adam_1"] } + ["beta1_power", "beta2_power"]
        let present = required.filter { bundle.contains($0) }
        if present.isEmpty { return nil }
        if let missing = required.first(where: { !bundle.contains($0) }) {
            throw .missingParameter(file: bundle.indexPath, tensor: missing)
        }
        var first: [String: FloatTensor] = [:]
        var second: [String: FloatTensor] = [:]
        for spec in trainable {
            for (slot, isFirst) in [("/Adam", true), ("/Adam_1", false)] {
                let tensor = try bundle.floatTensor(spec.name + slot)
                guard tensor.shape == spec.shape else {
                    throw .parameterShapeMismatch(file: bundle.indexPath, tensor: spec.name + slot, expected: spec.shape, found: tensor.shape)
                }
                if isFirst { first[spec.name] = tensor } else { second[spec.name] = tensor }
            }
        }
        return AdamState(
            firstMoments: first, secondMoments: second,
            beta1Power: try bundle.floatScalar("beta1_power"), beta2Power: try bundle.floatScalar("beta2_power"))
    }
}
