/// Loading a model from whatever a user points at.
extension ModelWeights {
    /// Loads a model from a safetensors file (ours or anyone's with the same tensor names) or from a
    /// TensorFlow V2 checkpoint (prefix, `.index` file, or model directory). A TF checkpoint keeps its
    /// optimizer state and step when it has them, so training can continue from it.
    public static func load(from path: String) throws -> ModelWeights {
        try importCheckpoint(at: path, keepOptimizerState: true)
    }
}
