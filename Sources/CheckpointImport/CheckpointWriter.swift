import Foundation

/// Writes a TensorFlow V2 checkpoint (one data shard) that TF 1.15's `tf.train.Saver` / Estimator can
/// restore: `P.data-00000-of-00001` with every tensor appended in key order from offset 0, and `P.index`
/// with the header and one `BundleEntryProto` per tensor, exactly as TF's BundleWriter lays them out
/// (so re-writing a TF checkpoint reproduces its bytes).
public enum CheckpointWriter {
    /// A tensor to store: its TF name, dtype, shape and little-endian element bytes.
    public struct Tensor: Sendable {
        public var name: String
        public var dataType: TensorDataType
        public var shape: [Int]
        var floats: [Float]?
        var int64s: [Int64]?
        var bytes: [UInt8]?

        public init(name: String, shape: [Int], floats: [Float]) {
            self.init(name: name, dataType: .float, shape: shape, floats: floats)
        }

        public init(name: String, shape: [Int], int64s: [Int64]) {
            self.init(name: name, dataType: .int64, shape: shape, int64s: int64s)
        }

        /// Any numeric dtype, given as its little-endian element bytes.
        public init(name: String, dataType: TensorDataType, shape: [Int], bytes: [UInt8]) {
            self.init(name: name, dataType: dataType, shape: shape, bytes: bytes as [UInt8]?)
        }

        init(name: String, dataType: TensorDataType, shape: [Int], floats: [Float]? = nil, int64s: [Int64]? = nil, bytes: [UInt8]? = nil) {
            self.name = name
            self.dataType = dataType
            self.shape = shape
            self.floats = floats
            self.int64s = int64s
            self.bytes = bytes
        }

        func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            if let floats { return try floats.withUnsafeBytes(body) }
            if let int64s { return try int64s.withUnsafeBytes(body) }
            return try (bytes ?? []).withUnsafeBytes(body)
        }
    }

    /// Writes every variable of `weights` and, when present, the Adam slots (`<v>/Adam`, `<v>/Adam_1`),
    /// `beta1_power`, `beta2_power` and `global_step`, under `prefix` (e.g. `dir/model.ckpt-90000`).
    /// Each file is written atomically; the data shard is written before the index, as TF does.
    public static func write(_ weights: ModelWeights, prefix: String) throws {
        try weights.validate()
        var tensors: [Tensor] = weights.parameters.map { Tensor(name: $0.key, dataType: .float, shape: $0.value.shape, floats: $0.value.values) }
        if let adam = weights.adam {
            for (name, tensor) in adam.firstMoments {
                tensors.append(Tensor(name: name + "/Adam", dataType: .float, shape: tensor.shape, floats: tensor.values))
            }
            for (name, tensor) in adam.secondMoments {
                tensors.append(Tensor(name: name + "/Adam_1", dataType: .float, shape: tensor.shape, floats: tensor.values))
            }
            tensors.append(Tensor(name: SafetensorsFile.beta1Power, dataType: .float, shape: [], floats: [adam.beta1Power]))
            tensors.append(Tensor(name: SafetensorsFile.beta2Power, dataType: .float, shape: [], floats: [adam.beta2Power]))
        }
        if let step = weights.globalStep {
            tensors.append(Tensor(name: SafetensorsFile.globalStep, dataType: .int64, shape: [], int64s: [step]))
        }
        try write(tensors, prefix: prefix)
    }

    /// Writes `prefix`'s `checkpoint` state file so `tf.train.latest_checkpoint(dir)` finds it.
    public static func writeCheckpointState(prefix: String) throws {
        let url = URL(fileURLWithPath: prefix)
        let name = url.lastPathComponent
        let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let text = "model_checkpoint_path: \"\(escaped)\"\nall_model_checkpoint_paths: \"\(escaped)\"\n"
        let file = try AtomicFile(path: url.deletingLastPathComponent().appendingPathComponent("checkpoint").path)
        try file.write(Array(text.utf8))
        try file.commit()
    }

    /// Writes arbitrary tensors as a one-shard bundle (keys sorted bytewise, data in key order).
    public static func write(_ unsorted: [Tensor], prefix: String) throws {
        let tensors = unsorted.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        for (a, b) in zip(tensors, tensors.dropFirst()) where a.name == b.name {
            throw CheckpointError.badEntry(file: prefix + ".index", tensor: a.name, reason: "duplicate tensor name")
        }
        let dataFile = try AtomicFile(path: CheckpointBundle.shardPath(prefix: prefix, shard: 0, of: 1))
        var table = SSTableWriter()
        table.add(key: [], value: BundleHeader(numShards: 1).encodedProto())
        var offset = 0
        for tensor in tensors {
            let (size, crc) = try tensor.withBytes { raw -> (Int, UInt32) in
                try dataFile.write(raw)
                return (raw.count, CRC32C.checksum(raw))
            }
            let entry = BundleEntry(
                name: tensor.name, dataType: tensor.dataType, shape: tensor.shape, offset: offset, size: size,
                maskedCRC32C: CRC32C.mask(crc))
            table.add(key: Array(tensor.name.utf8), value: entry.encodedProto())
            offset += size
        }
        try dataFile.commit()
        let indexFile = try AtomicFile(path: prefix + ".index")
        try indexFile.write(table.finish())
        try indexFile.commit()
    }
}
