/// A TensorFlow V2 checkpoint (tensor bundle) opened for reading: the `.index` table decoded and validated,
/// every data shard opened. Tensor bytes are read on demand and checked against their CRC32C.
///
/// Everything except the tensor bytes is validated when the bundle opens (block CRCs, header, every entry,
/// shard ids, that every byte range lies inside its shard), so later reads can only fail on data corruption.
public final class CheckpointBundle: Sendable {
    /// The checkpoint prefix, e.g. `dir/model.ckpt-3`.
    public let prefix: String
    public var indexPath: String { prefix + ".index" }
    public let numShards: Int
    /// Every tensor entry in key order. Entries of partitioned variables are listed (`isPartitioned`);
    /// the encoded per-slice keys (starting with byte 0) are not.
    public let entries: [BundleEntry]
    /// How many encoded slice keys (partitioned-variable pieces) the index holds; they are not in `entries`.
    public let sliceKeyCount: Int
    private let positions: [String: Int]
    private let shards: [ReadOnlyFile]

    /// Opens a checkpoint given as a prefix, its `.index` file, or a model directory (spec §1, §9).
    public init(path: String) throws(CheckpointError) {
        let prefix = try CheckpointLocation.resolvePrefix(path)
        let indexPath = prefix + ".index"
        guard let indexFile = try ReadOnlyFile(path: indexPath) else { throw .notFound(path: indexPath) }
        let table = try SSTable(bytes: try indexFile.readAll(), file: indexPath)

        guard let first = table.entries.first, first.key.isEmpty else {
            throw .badHeader(file: indexPath, reason: "the first key is not the empty header key")
        }
        let header = try BundleHeader(proto: first.value, file: indexPath)

        var entries: [BundleEntry] = []
        var sliceKeys = 0
        for record in table.entries.dropFirst() {
            if record.key.first == 0 {
                // `00 <name> <slice spec>`: one piece of a partitioned variable (spec §7).
                sliceKeys += 1
                continue
            }
            guard let name = String(validating: record.key, as: UTF8.self) else {
                throw .badEntry(file: indexPath, tensor: String(decoding: record.key, as: UTF8.self), reason: "key is not UTF-8")
            }
            let entry = try BundleEntry(name: name, proto: record.value, file: indexPath)
            guard entry.shardID < header.numShards else {
                throw .shardOutOfRange(file: indexPath, tensor: name, shardID: entry.shardID, numShards: header.numShards)
            }
            entries.append(entry)
        }

        var shards: [ReadOnlyFile] = []
        for id in 0..<header.numShards {
            let path = Self.shardPath(prefix: prefix, shard: id, of: header.numShards)
            guard let shard = try ReadOnlyFile(path: path) else {
                throw .missingShard(file: path, shardID: id, numShards: header.numShards)
            }
            shards.append(shard)
        }

        for entry in entries where !entry.isPartitioned {
            let shard = shards[entry.shardID]
            guard entry.offset <= shard.size, entry.size <= shard.size - entry.offset else {
                throw .truncatedData(file: shard.path, tensor: entry.name, offset: entry.offset, size: entry.size, fileSize: shard.size)
            }
            if let elementSize = entry.dataType.elementSize {
                let (expected, overflow) = entry.elementCount.multipliedReportingOverflow(by: elementSize)
                guard !overflow, expected == entry.size else {
                    throw .sizeMismatch(file: indexPath, tensor: entry.name, expected: overflow ? Int.max : expected, stored: entry.size)
                }
            }
        }

        self.prefix = prefix
        self.numShards = header.numShards
        self.entries = entries
        self.sliceKeyCount = sliceKeys
        self.positions = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.shards = shards
    }

    /// `P.data-SSSSS-of-NNNNN`.
    public static func shardPath(prefix: String, shard: Int, of count: Int) -> String {
        func five(_ n: Int) -> String {
            let digits = String(n)
            return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
        }
        return "\(prefix).data-\(five(shard))-of-\(five(count))"
    }

    public func contains(_ name: String) -> Bool { positions[name] != nil }

    public func entry(_ name: String) throws(CheckpointError) -> BundleEntry {
        guard let position = positions[name] else { throw .tensorNotFound(file: indexPath, tensor: name) }
        return entries[position]
    }

    /// Total bytes of tensor data the entries reference.
    public var dataByteCount: Int { entries.reduce(0) { $0 + $1.size } }

    // MARK: reading tensors

    /// The tensor in its stored type (float32, float64, int32, int64, bool, uint8, bfloat16, float16, string).
    public func tensor(_ name: String) throws(CheckpointError) -> TensorValue {
        let entry = try readableEntry(name)
        let storage: TensorValue.Storage
        switch entry.dataType {
        case .float: storage = .float(try elements(entry, as: Float.self))
        case .double: storage = .double(try elements(entry, as: Double.self))
        case .int32: storage = .int32(try elements(entry, as: Int32.self))
        case .int64: storage = .int64(try elements(entry, as: Int64.self))
        case .uint8: storage = .uint8(try elements(entry, as: UInt8.self))
        case .bool: storage = .bool(try elements(entry, as: UInt8.self).map { $0 != 0 })
        case .bfloat16: storage = .bfloat16(try elements(entry, as: UInt16.self))
        case .half: storage = .half(try elements(entry, as: UInt16.self))
        case .string: storage = .string(try strings(entry))
        default:
            throw .unsupportedDataType(file: indexPath, tensor: name, dataType: entry.dataType.name)
        }
        return TensorValue(dataType: entry.dataType, shape: entry.shape, storage: storage)
    }

    /// A float32 tensor (the type of every Noise2Same variable).
    public func floatTensor(_ name: String) throws(CheckpointError) -> FloatTensor {
        let entry = try readableEntry(name)
        guard entry.dataType == .float else {
            throw .wrongDataType(file: indexPath, tensor: name, expected: "DT_FLOAT", found: entry.dataType.name)
        }
        return FloatTensor(shape: entry.shape, values: try elements(entry, as: Float.self))
    }

    public func floatScalar(_ name: String) throws(CheckpointError) -> Float {
        let tensor = try floatTensor(name)
        guard tensor.shape.isEmpty else {
            throw .badEntry(file: indexPath, tensor: name, reason: "expected a scalar, found shape \(tensor.shape)")
        }
        return tensor.values[0]
    }

    /// An int64 scalar such as `global_step`.
    public func int64Scalar(_ name: String) throws(CheckpointError) -> Int64 {
        let entry = try readableEntry(name)
        guard entry.dataType == .int64 else {
            throw .wrongDataType(file: indexPath, tensor: name, expected: "DT_INT64", found: entry.dataType.name)
        }
        guard entry.shape.isEmpty else {
            throw .badEntry(file: indexPath, tensor: name, reason: "expected a scalar, found shape \(entry.shape)")
        }
        return try elements(entry, as: Int64.self)[0]
    }

    /// The stored bytes of a tensor, CRC-verified.
    public func rawBytes(_ name: String) throws(CheckpointError) -> [UInt8] {
        let entry = try readableEntry(name)
        if entry.dataType == .string {
            _ = try strings(entry)  // verifies the string checksum recipe
            var bytes = [UInt8](repeating: 0, count: entry.size)
            try read(entry, into: &bytes)
            return bytes
        }
        return try elements(entry, as: UInt8.self, elementCount: entry.size)
    }

    /// Reads every non-partitioned tensor and verifies its checksum; returns how many were checked.
    @discardableResult
    public func verifyAllChecksums() throws(CheckpointError) -> Int {
        var checked = 0
        for entry in entries where !entry.isPartitioned {
            _ = try rawBytes(entry.name)
            checked += 1
        }
        return checked
    }

    private func readableEntry(_ name: String) throws(CheckpointError) -> BundleEntry {
        let entry = try entry(name)
        guard !entry.isPartitioned else { throw .partitionedVariable(file: indexPath, tensor: name) }
        return entry
    }

    /// Reads a numeric tensor's bytes straight into an array of `T` (the host is little-endian, like the
    /// bundle) and verifies the masked CRC32C over exactly those bytes.
    private func elements<T: BitwiseCopyable>(
        _ entry: BundleEntry, as type: T.Type, elementCount: Int? = nil
    ) throws(CheckpointError) -> [T] {
        let count = elementCount ?? entry.elementCount
        precondition(count * MemoryLayout<T>.stride == entry.size, "size validated when the bundle opened")
        var failure: CheckpointError?
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            do {
                try shards[entry.shardID].read(into: raw, at: entry.offset)
            } catch let error as CheckpointError {
                failure = error
            } catch {
                failure = .io(file: shards[entry.shardID].path, reason: "\(error)")
            }
            if failure == nil { failure = checkCRC(entry, CRC32C.checksum(UnsafeRawBufferPointer(raw))) }
            // T is a plain numeric type: whatever bytes were read are valid values.
            initialized = count
        }
        if let failure { throw failure }
        return values
    }

    private func read(_ entry: BundleEntry, into bytes: inout [UInt8]) throws(CheckpointError) {
        let shard = shards[entry.shardID]
        let failure = bytes.withUnsafeMutableBytes { raw -> CheckpointError? in
            do { try shard.read(into: raw, at: entry.offset) } catch let error as CheckpointError { return error } catch {
                return .io(file: shard.path, reason: "\(error)")
            }
            return nil
        }
        if let failure { throw failure }
    }

    private func checkCRC(_ entry: BundleEntry, _ computed: UInt32) -> CheckpointError? {
        let stored = CRC32C.unmask(entry.maskedCRC32C)
        guard stored != computed else { return nil }
        return .tensorChecksumMismatch(file: shards[entry.shardID].path, tensor: entry.name, stored: stored, computed: computed)
    }

    /// Decodes a DT_STRING tensor (spec §6.2): n varint64 lengths, the masked CRC of the lengths, the bytes.
    /// The CRCs are taken over each length as a fixed 4-byte (or 8-byte, ≥ 2^32) little-endian integer.
    private func strings(_ entry: BundleEntry) throws(CheckpointError) -> [[UInt8]] {
        var bytes = [UInt8](repeating: 0, count: entry.size)
        try read(entry, into: &bytes)
        let shardPath = shards[entry.shardID].path
        func bad(_ reason: String) -> CheckpointError {
            .badEntry(file: shardPath, tensor: entry.name, reason: "string tensor data: \(reason)")
        }
        var reader = ByteReader(bytes)
        var lengths: [Int] = []
        var crc: UInt32 = 0
        lengths.reserveCapacity(min(entry.elementCount, entry.size))
        for _ in 0..<entry.elementCount {
            guard let length = try? reader.varint64() else { throw bad("length \(lengths.count) does not decode") }
            guard length <= UInt64(entry.size) else { throw bad("string \(lengths.count) claims \(length) bytes") }
            var encoded: [UInt8] = []
            if length >= 1 << 32 { ByteWriter.appendFixed64(length, to: &encoded) } else { ByteWriter.appendFixed32(UInt32(length), to: &encoded) }
            crc = CRC32C.extend(crc, encoded)
            lengths.append(Int(length))
        }
        guard let lengthChecksum = try? reader.fixed32() else { throw bad("no length checksum") }
        guard CRC32C.unmask(lengthChecksum) == crc else {
            throw .tensorChecksumMismatch(file: shardPath, tensor: entry.name, stored: CRC32C.unmask(lengthChecksum), computed: crc)
        }
        let total = lengths.reduce(0, +)
        guard total == reader.remaining else {
            throw .sizeMismatch(file: indexPath, tensor: entry.name, expected: entry.size - reader.remaining + total, stored: entry.size)
        }
        // entry CRC = length CRC extended with the 4 stored checksum bytes and all string bytes
        let tail = bytes.withUnsafeBytes { raw in
            CRC32C.extend(crc, UnsafeRawBufferPointer(rebasing: raw[(reader.position - 4)...]))
        }
        if let mismatch = checkCRC(entry, tail) { throw mismatch }
        var strings: [[UInt8]] = []
        var position = reader.position
        for length in lengths {
            strings.append(Array(bytes[position..<(position + length)]))
            position += length
        }
        return strings
    }
}
