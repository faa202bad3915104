/// Adam optimizer state as TF1's `AdamOptimizer` keeps it: first and second moments per trainable
/// variable (`<name>/Adam`, `<name>/Adam_1` in a checkpoint) and the running powers β1^t, β2^t.
public struct AdamState: Sendable, Equatable {
    /// First moments keyed by the variable's TF name.
    public var firstMoments: [String: FloatTensor]
    /// Second moments keyed by the variable's TF name.
    public var secondMoments: [String: FloatTensor]
    /// β1^(t+1) after t completed steps (starts at β1).
    public var beta1Power: Float
    /// β2^(t+1) after t completed steps (starts at β2).
    public var beta2Power: Float

    public init(firstMoments: [String: FloatTensor], secondMoments: [String: FloatTensor], beta1Power: Float, beta2Power: Float) {
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
        self.beta1Power = beta1Power
        self.beta2Power = beta2Power
    }
}

/// A complete model as n2spd stores it: architecture, every network variable (trainable parameters and
/// batch-norm moving statistics) under its TF name and in TF layout, optionally the optimizer state and
/// global step (needed to continue training exactly), and free-form provenance metadata.
public struct ModelWeights: Sendable, Equatable {
    public var architecture: ModelArchitecture
    /// Keyed by full TF name, e.g. `main_unet/first_convolution/kernel`.
    public var parameters: [String: FloatTensor]
    public var adam: AdamState?
    public var globalStep: Int64?
    /// Provenance: source checkpoint, step, normalization policy, training log … (string values).
    public var metadata: [String: String]

    public init(
        architecture: ModelArchitecture, parameters: [String: FloatTensor], adam: AdamState? = nil,
        globalStep: Int64? = nil, metadata: [String: String] = [:]
    ) {
        self.architecture = architecture
        self.parameters = parameters
        self.adam = adam
        self.globalStep = globalStep
        self.metadata = metadata
    }

    /// The tensor for `name`, or a clear error naming what is missing.
    public func parameter(_ name: String) throws(ModelWeightsError) -> FloatTensor {
        guard let tensor = parameters[name] else { throw .missingParameter(name) }
        return tensor
    }

    /// Checks every variable the architecture needs is present with the right shape.
    public func validate() throws(ModelWeightsError) {
        for spec in architecture.parameterSpecs {
            guard let tensor = parameters[spec.name] else { throw .missingParameter(spec.name) }
            guard tensor.shape == spec.shape else {
                throw .shapeMismatch(name: spec.name, expected: spec.shape, found: tensor.shape)
            }
        }
    }
}

public enum ModelWeightsError: Error, Equatable, CustomStringConvertible {
    case missingParameter(String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .missingParameter(let name): "model has no variable '\(name)'"
        case .shapeMismatch(let name, let expected, let found):
            "variable '\(name)' has shape \(found), the architecture needs \(expected)"
        }
    }
}
