import Foundation

/// n2spd's native model file: safetensors with the TF variable names, so Python's `safetensors` reads it
/// and exporting back to a TF checkpoint is a renaming-free copy.
///
/// Tensors: every model variable as F32 under its TF name; with optimizer state also `<name>/Adam`,
/// `<name>/Adam_1`, `beta1_power`, `beta2_power` (F32, shape []) and `global_step` (I64, shape []).
/// `__metadata__`: `format` = `n2spd-weights`, `format_version`, `architecture` (JSON of
/// `ModelArchitecture`), plus every entry of `ModelWeights.metadata` (source checkpoint and step,
/// normalization policy, training provenance …).
public enum SafetensorsFile {
    public static let format = "n2spd-weights"
    public static let formatVersion = "1"
    /// Metadata keys the file format owns; every other key round-trips through `ModelWeights.metadata`.
    public enum MetadataKey {
        public static let format = "format"
        public static let formatVersion = "format_version"
        public static let architecture = "architecture"
    }

    /// Optimizer tensor names (shared with the TF checkpoint writer).
    static let beta1Power = "beta1_power", beta2Power = "beta2_power", globalStep = "global_step"

    /// Writes `weights` to `url` atomically (temp file, fsync, rename), replacing an existing file.
    public static func write(_ weights: ModelWeights, to url: URL) throws {
        try weights.validate()
        // (name, dtype, shape, values) in bytewise name order; data is laid out densely in that order.
        var entries: [(name: String, dtype: String, shape: [Int], float: [Float]?, int64: [Int64]?)] = []
        for (name, tensor) in weights.parameters { entries.append((name, "F32", tensor.shape, tensor.values, nil)) }
        if let adam = weights.adam {
            for (name, tensor) in adam.firstMoments { entries.append((name + "/Adam", "F32", tensor.shape, tensor.values, nil)) }
            for (name, tensor) in adam.secondMoments { entries.append((name + "/Adam_1", "F32", tensor.shape, tensor.values, nil)) }
            entries.append((beta1Power, "F32", [], [adam.beta1Power], nil))
            entries.append((beta2Power, "F32", [], [adam.beta2Power], nil))
        }
        if let step = weights.globalStep { entries.append((globalStep, "I64", [], nil, [step])) }
        entries.sort { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }

        var header: [String: Any] = [:]
        var offset = 0
        for entry in entries {
            let size = (entry.float?.count ?? 0) * 4 + (entry.int64?.count ?? 0) * 8
            header[entry.name] = ["dtype": entry.dtype, "shape": entry.shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        var metadata = weights.metadata
        if metadata[ModelWeights.MetadataKey.normalization] == nil {
            metadata[ModelWeights.MetadataKey.normalization] = ModelWeights.normalizationPolicy
        }
        metadata[MetadataKey.format] = format
        metadata[MetadataKey.formatVersion] = formatVersion
        metadata[MetadataKey.architecture] = String(decoding: try architectureJSON(weights.architecture), as: UTF8.self)
        header["__metadata__"] = metadata

        var headerBytes = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes]))
        // Pad with spaces so the data starts 8-byte aligned (allowed by the format, expected by mmap users).
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }

        let file = try AtomicFile(path: url.path)
        var prefix: [UInt8] = []
        ByteWriter.appendFixed64(UInt64(headerBytes.count), to: &prefix)
        try file.write(prefix + headerBytes)
        for entry in entries {
            if let values = entry.float {
                try values.withUnsafeBytes { try file.write($0) }
            } else if let values = entry.int64 {
                try values.withUnsafeBytes { try file.write($0) }
            }
        }
        try file.commit()
    }

    static func architectureJSON(_ architecture: ModelArchitecture) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(architecture)
    }

    /// Reads a model written by `write` (or any safetensors file with the same tensor names; the
    /// architecture is then inferred from the names and shapes).
    public static func read(_ url: URL) throws -> ModelWeights {
        try read(SafetensorsContents(contentsOf: url))
    }

    public static func read(_ contents: SafetensorsContents) throws -> ModelWeights {
        let file = contents.file
        let architecture: ModelArchitecture
        if let json = contents.metadata[MetadataKey.architecture] {
            do { architecture = try JSONDecoder().decode(ModelArchitecture.self, from: Data(json.utf8)) } catch {
                throw SafetensorsError.invalidMetadata(file: file, reason: "architecture is not a ModelArchitecture JSON: \(json)")
            }
        } else {
            let shapes = Dictionary(contents.tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
            do { architecture = try ArchitectureInference.infer(from: shapes) } catch {
                throw SafetensorsError.invalidModel(file: file, reason: "no architecture in __metadata__ and none can be inferred (\(error))")
            }
        }
        do { try architecture.validate() } catch {
            throw SafetensorsError.invalidMetadata(file: file, reason: "\(error)")
        }
        if let problem = ArchitectureInference.implausibility(of: architecture) {
            throw SafetensorsError.invalidMetadata(file: file, reason: problem)
        }
        if let version = contents.metadata[MetadataKey.formatVersion], version != formatVersion {
            throw SafetensorsError.invalidMetadata(file: file, reason: "format_version \(version); this build reads version \(formatVersion)")
        }

        let specs = architecture.parameterSpecs
        var parameters: [String: FloatTensor] = [:]
        for spec in specs {
            let tensor = try contents.floatTensor(spec.name)
            guard tensor.shape == spec.shape else {
                throw SafetensorsError.invalidTensor(file: file, tensor: spec.name, reason: "shape \(tensor.shape), the architecture needs \(spec.shape)")
            }
            parameters[spec.name] = tensor
        }

        var adam: AdamState?
        let trainable = specs.filter { $0.role.isTrainable }
        if contents.tensor(beta1Power) != nil || trainable.contains(where: { contents.tensor($0.name + "/Adam") != nil }) {
            var first: [String: FloatTensor] = [:]
            var second: [String: FloatTensor] = [:]
            for spec in trainable {
                first[spec.name] = try contents.floatTensor(spec.name + "/Adam")
                second[spec.name] = try contents.floatTensor(spec.name + "/Adam_1")
                for (slot, tensor) in [("/Adam", first[spec.name]!), ("/Adam_1", second[spec.name]!)] where tensor.shape != spec.shape {
                    throw SafetensorsError.invalidTensor(file: file, tensor: spec.name + slot, reason: "shape \(tensor.shape), expected \(spec.shape)")
                }
            }
            adam = AdamState(
                firstMoments: first, secondMoments: second,
                beta1Power: try scalar(contents, beta1Power), beta2Power: try scalar(contents, beta2Power))
        }
        var step: Int64?
        if contents.tensor(globalStep) != nil {
            let (shape, values) = try contents.int64Tensor(globalStep)
            guard shape.isEmpty else { throw SafetensorsError.invalidTensor(file: file, tensor: globalStep, reason: "not a scalar") }
            step = values[0]
        }
        var metadata = contents.metadata
        for key in [MetadataKey.format, MetadataKey.formatVersion, MetadataKey.architecture] { metadata[key] = nil }
        return ModelWeights(architecture: architecture, parameters: parameters, adam: adam, globalStep: step, metadata: metadata)
    }

    private static func scalar(_ contents: SafetensorsContents, _ name: String) throws -> Float {
        let tensor = try contents.floatTensor(name)
        guard tensor.shape.isEmpty else {
            throw SafetensorsError.invalidTensor(file: contents.file, tensor: name, reason: "shape \(tensor.shape), expected a scalar")
        }
        return tensor.values[0]
    }

    /// Whether `path` looks like a safetensors file: a plausible header length followed by `{`.
    public static func looksLikeSafetensors(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 9), head.count == 9,
              let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int
        else { return false }
        let bytes = [UInt8](head)
        let length = ByteReader.fixed64(bytes, at: 0)
        return length >= 2 && length <= UInt64(size - 8) && bytes[8] == UInt8(ascii: "{")
    }
}
