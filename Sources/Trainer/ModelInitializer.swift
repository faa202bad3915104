import CheckpointImport

/// A fresh model as the reference initialises it (`reference-model.md` §1.2): every kernel Glorot-uniform
/// U(−L, L), L = √(6/(fan_in + fan_out)) with fan_in + fan_out = kh·kw·(Cin + Cout) (the same for the
/// transposed kernels), biases 0, batch-norm γ = 1, β = 0, moving mean 0, moving variance 1. No Adam state,
/// global step 0.
public enum ModelInitializer {
    public static func glorotUniform(_ architecture: ModelArchitecture, seed: UInt64) throws -> ModelWeights {
        try architecture.validate()
        var rng = TrainingRandom(seed: seed)
        var parameters: [String: FloatTensor] = [:]
        for spec in architecture.parameterSpecs {
            switch spec.role {
            case .kernel:
                let s = spec.shape
                let limit = (6.0 / Double(s[0] * s[1] * (s[2] + s[3]))).squareRoot()
                parameters[spec.name] = FloatTensor(
                    shape: s, values: (0..<spec.count).map { _ in Float((2 * rng.uniform() - 1) * limit) })
            case .bias, .beta, .movingMean:
                parameters[spec.name] = FloatTensor(shape: spec.shape, repeating: 0)
            case .gamma, .movingVariance:
                parameters[spec.name] = FloatTensor(shape: spec.shape, repeating: 1)
            }
        }
        return ModelWeights(architecture: architecture, parameters: parameters, adam: nil, globalStep: 0,
                            metadata: [ModelWeights.MetadataKey.normalization: ModelWeights.normalizationPolicy,
                                       "initialization": "glorot-uniform seed \(seed)"])
    }
}
