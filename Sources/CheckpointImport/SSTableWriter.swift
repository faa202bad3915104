/// Builds a LevelDB-format table the way TensorFlow's `table::TableBuilder` does for a bundle's `.index`
/// (spec §4): uncompressed data blocks cut at ~256 KiB with a restart point every 16 entries, index block
/// entries keyed by the shortest separator between blocks (restart interval 1), an empty metaindex
/// block, masked-CRC trailers, and the 48-byte footer. Mirroring TF byte for byte lets us check the writer
/// against a real checkpoint.
public struct SSTableWriter: Sendable {
    public static let blockSize = 262_144
    public static let restartInterval = 16

    public init() {}

    private(set) var output: [UInt8] = []
    private var dataBlock = BlockBuilder(restartInterval: restartInterval)
    private var indexBlock = BlockBuilder(restartInterval: 1)
    private var lastKey: [UInt8] = []
    private var pendingHandle: (offset: Int, size: Int)?
    private var entryCount = 0

    /// Keys must be added in strictly increasing bytewise order.
    public mutating func add(key: [UInt8], value: [UInt8]) {
        precondition(entryCount == 0 || SSTable.less(lastKey, key), "SSTable keys must be strictly increasing")
        if let handle = pendingHandle {
            // The previous block's index key: any key ≥ its last key and < this one; TF picks the shortest.
            indexBlock.add(key: Self.shortestSeparator(lastKey, key), value: Self.encode(handle))
            pendingHandle = nil
        }
        lastKey = key
        entryCount += 1
        dataBlock.add(key: key, value: value)
        if dataBlock.sizeEstimate >= Self.blockSize { flush() }
    }

    /// Finishes the table and returns the file's bytes.
    public mutating func finish() -> [UInt8] {
        flush()
        var metaindex = BlockBuilder(restartInterval: Self.restartInterval)
        let metaindexHandle = writeBlock(metaindex.finish())
        if let handle = pendingHandle {
            indexBlock.add(key: Self.shortSuccessor(lastKey), value: Self.encode(handle))
            pendingHandle = nil
        }
        let indexHandle = writeBlock(indexBlock.finish())
        var footer = Self.encode(metaindexHandle) + Self.encode(indexHandle)
        footer += [UInt8](repeating: 0, count: 40 - footer.count)
        ByteWriter.appendFixed64(SSTable.magic, to: &footer)
        output += footer
        return output
    }

    private mutating func flush() {
        guard !dataBlock.isEmpty else { return }
        pendingHandle = writeBlock(dataBlock.finish())
        dataBlock = BlockBuilder(restartInterval: Self.restartInterval)
    }

    /// Appends a finished block and its trailer; returns the block's handle.
    private mutating func writeBlock(_ finished: [UInt8]) -> (offset: Int, size: Int) {
        var contents = finished
        let handle = (offset: output.count, size: contents.count)
        contents.append(0)  // compression: none
        let crc = CRC32C.mask(CRC32C.checksum(contents))
        output += contents
        ByteWriter.appendFixed32(crc, to: &output)
        return handle
    }

    private static func encode(_ handle: (offset: Int, size: Int)) -> [UInt8] {
        var out: [UInt8] = []
        ByteWriter.appendVarint(UInt64(handle.offset), to: &out)
        ByteWriter.appendVarint(UInt64(handle.size), to: &out)
        return out
    }

    /// LevelDB's BytewiseComparator::FindShortestSeparator.
    public static func shortestSeparator(_ start: [UInt8], _ limit: [UInt8]) -> [UInt8] {
        let common = zip(start, limit).prefix(while: { $0 == $1 }).count
        guard common < min(start.count, limit.count) else { return start }  // one is a prefix of the other
        let byte = start[common]
        guard byte < 0xff, byte + 1 < limit[common] else { return start }
        return Array(start[..<common]) + [byte + 1]
    }

    /// LevelDB's BytewiseComparator::FindShortSuccessor.
    public static func shortSuccessor(_ key: [UInt8]) -> [UInt8] {
        guard let index = key.firstIndex(where: { $0 != 0xff }) else { return key }
        return Array(key[..<index]) + [key[index] + 1]
    }
}

/// One block's entries with prefix compression and restart points (LevelDB's BlockBuilder).
struct BlockBuilder: Sendable {
    let restartInterval: Int
    private var buffer: [UInt8] = []
    private var restarts: [UInt32] = [0]
    private var counter = 0
    private var lastKey: [UInt8] = []

    init(restartInterval: Int) { self.restartInterval = restartInterval }

    var isEmpty: Bool { buffer.isEmpty }
    var sizeEstimate: Int { buffer.count + restarts.count * 4 + 4 }

    mutating func add(key: [UInt8], value: [UInt8]) {
        var shared = 0
        if counter < restartInterval {
            shared = zip(lastKey, key).prefix(while: { $0 == $1 }).count
        } else {
            restarts.append(UInt32(buffer.count))
            counter = 0
        }
        ByteWriter.appendVarint(UInt64(shared), to: &buffer)
        ByteWriter.appendVarint(UInt64(key.count - shared), to: &buffer)
        ByteWriter.appendVarint(UInt64(value.count), to: &buffer)
        buffer += key[shared...]
        buffer += value
        lastKey = key
        counter += 1
    }

    mutating func finish() -> [UInt8] {
        var out = buffer
        for restart in restarts { ByteWriter.appendFixed32(restart, to: &out) }
        ByteWriter.appendFixed32(UInt32(restarts.count), to: &out)
        return out
    }
}
