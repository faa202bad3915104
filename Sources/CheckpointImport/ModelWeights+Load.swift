import Foundation

#if _endian(big)
#error("n2spd reads and writes little-endian tensor data by copying memory; big-endian hosts are not supported")
#endif

/// Loading a model from whatever a user points at.
extension ModelWeights {
    /// Loads a model from a safetensors file (ours, or anyone's with the same tensor names) or from a
    /// TensorFlow V2 checkpoint (prefix, `.index` file, or model directory). The kind is detected from the
    /// file's bytes, not its name. A TF checkpoint keeps its optimizer state and step when it has them, so
    /// training can continue from it.
    public static func load(from path: String) throws -> ModelWeights {
        if !path.hasSuffix(".index"), SafetensorsFile.looksLikeSafetensors(path) {
            return try SafetensorsFile.read(URL(fileURLWithPath: path))
        }
        return try importCheckpoint(at: path, keepOptimizerState: true)
    }
}

extension ModelWeights {
    /// Writes this model as an n2spd safetensors file (atomically; replaces an existing file).
    public func save(to path: String) throws {
        try SafetensorsFile.write(self, to: URL(fileURLWithPath: path))
    }
}
