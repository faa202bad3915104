import CheckpointImport

extension ModelWeights {
    /// A freshly initialised model as the reference initialises it (reference-model.md §1.2): kernels Glorot
    /// uniform U(−L, L) with L = sqrt(6 / (kh·kw·(Cin + Cout))), biases 0, γ 1, β 0, moving mean 0, moving
    /// variance 1. Deterministic for a given seed (SplitMix64). Used by `n2sp bench` without a model and by tests.
    public static func glorotInitialized(_ architecture: ModelArchitecture, seed: UInt64 = 0) -> ModelWeights {
        var generator = SplitMix64(seed: seed)
        func uniform() -> Double { generator.nextUnitDouble() }
        var parameters: [String: FloatTensor] = [:]
        for spec in architecture.parameterSpecs {
            let values: [Float]
            switch spec.role {
            case .kernel:
                let limit = (6.0 / Double(spec.shape[0] * spec.shape[1] * (spec.shape[2] + spec.shape[3]))).squareRoot()
                values = (0..<spec.count).map { _ in Float((uniform() * 2 - 1) * limit) }
            case .bias, .beta, .movingMean: values = [Float](repeating: 0, count: spec.count)
            case .gamma, .movingVariance: values = [Float](repeating: 1, count: spec.count)
            }
            parameters[spec.name] = FloatTensor(shape: spec.shape, values: values)
        }
        return ModelWeights(architecture: architecture, parameters: parameters,
                            metadata: ["source": "glorot-uniform initialisation, seed \(seed)"])
    }
}
