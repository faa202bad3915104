/// A LevelDB-format sorted table as TensorFlow writes it for a bundle's `.index` file
/// (`../shared/spec/tf-checkpoint-format.md` §4): found through its 48-byte footer, every block's
/// trailer CRC verified, entries decoded from the prefix-compressed data blocks listed in the index block.
///
/// Public as a low-level building block (tests, tools); most code wants `CheckpointBundle`.
///
/// The whole table is decoded eagerly: bundle indexes are small (6 KB for the Noise2Same U-Net, a few
/// hundred KB for models with thousands of variables) and every entry is needed anyway.
public struct SSTable: Sendable {
    public static let magic: UInt64 = 0xdb47_7524_8b80_fb57
    static let footerSize = 48
    static let trailerSize = 5

    public struct Entry: Sendable {
        public var key: [UInt8]
        public var value: [UInt8]
    }

    /// Every key/value of every data block, in table order (strictly increasing keys).
    public let entries: [Entry]
    /// Number of data blocks (1 for every checkpoint in the fixtures; more for big models).
    public let dataBlockCount: Int

    /// Parses `bytes`, the whole `.index` file; `file` is used in error messages.
    public init(bytes: [UInt8], file: String) throws(CheckpointError) {
        guard bytes.count >= Self.footerSize else {
            throw .truncatedIndex(file: file, reason: "\(bytes.count) bytes, shorter than the 48-byte SSTable footer")
        }
        let footerStart = bytes.count - Self.footerSize
        let magic = ByteReader.fixed64(bytes, at: bytes.count - 8)
        guard magic == Self.magic else { throw .badMagic(file: file, found: magic) }

        var footer = ByteReader(bytes, from: footerStart, to: footerStart + 40)
        let metaindex: BlockHandle
        let index: BlockHandle
        do {
            metaindex = BlockHandle(offset: try footer.varint64(), size: try footer.varint64())
            index = BlockHandle(offset: try footer.varint64(), size: try footer.varint64())
        } catch {
            throw .corruptBlock(file: file, block: "footer", offset: UInt64(footerStart), reason: "block handles do not decode")
        }

        // The metaindex holds no filters in a bundle, but it is part of the file: verify it like the rest.
        _ = try Self.readBlock(bytes, metaindex, name: "metaindex block", file: file, limit: footerStart)
        let indexEntries = try Self.readBlock(bytes, index, name: "index block", file: file, limit: footerStart)

        var entries: [Entry] = []
        for (number, indexEntry) in indexEntries.enumerated() {
            var reader = ByteReader(indexEntry.value)
            let handle: BlockHandle
            do {
                handle = BlockHandle(offset: try reader.varint64(), size: try reader.varint64())
            } catch {
                throw .corruptBlock(file: file, block: "index block", offset: index.offset,
                                    reason: "entry \(number) is not a block handle")
            }
            let block = try Self.readBlock(bytes, handle, name: "data block \(number)", file: file, limit: footerStart)
            for entry in block {
                // Keys increase strictly across the whole table, not just within a block.
                if let previous = entries.last, !Self.less(previous.key, entry.key) {
                    throw .corruptBlock(file: file, block: "data block \(number)", offset: handle.offset,
                                        reason: "keys are not strictly increasing")
                }
                entries.append(entry)
            }
        }
        self.entries = entries
        self.dataBlockCount = indexEntries.count
    }

    struct BlockHandle {
        var offset: UInt64
        var size: UInt64
    }

    /// Reads, verifies and decodes the block at `handle`, which must end (with its trailer) before `limit`.
    private static func readBlock(
        _ bytes: [UInt8], _ handle: BlockHandle, name: String, file: String, limit: Int
    ) throws(CheckpointError) -> [Entry] {
        let (end, overflow) = handle.offset.addingReportingOverflow(handle.size)
        guard !overflow, end <= UInt64(limit), UInt64(limit) - end >= UInt64(trailerSize) else {
            throw .blockOutOfBounds(file: file, block: name, offset: handle.offset, size: handle.size, fileSize: bytes.count)
        }
        let start = Int(handle.offset)
        let size = Int(handle.size)
        let compression = bytes[start + size]
        let stored = ByteReader.fixed32(bytes, at: start + size + 1)
        // The trailer CRC covers the contents and the compression byte.
        let computed = bytes.withUnsafeBytes { raw in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[start..<(start + size + 1)]))
        }
        guard CRC32C.unmask(stored) == computed else {
            throw .blockChecksumMismatch(file: file, block: name, offset: handle.offset,
                                         stored: CRC32C.unmask(stored), computed: computed)
        }
        guard compression == 0 else {
            throw .compressedBlock(file: file, block: name, offset: handle.offset, compression: compression)
        }
        return try decodeBlock(bytes, start: start, size: size, name: name, file: file)
    }

    /// Decodes the entries of an uncompressed block (§4.4).
    private static func decodeBlock(
        _ bytes: [UInt8], start: Int, size: Int, name: String, file: String
    ) throws(CheckpointError) -> [Entry] {
        func corrupt(_ reason: String) -> CheckpointError {
            .corruptBlock(file: file, block: name, offset: UInt64(start), reason: reason)
        }
        guard size >= 4 else { throw corrupt("\(size) bytes, too short for the restart count") }
        let restartCount = Int(ByteReader.fixed32(bytes, at: start + size - 4))
        guard restartCount <= (size - 4) / 4 else {
            throw corrupt("restart count \(restartCount) does not fit in the block")
        }
        let entriesEnd = start + size - 4 - 4 * restartCount
        var reader = ByteReader(bytes, from: start, to: entriesEnd)
        var entries: [Entry] = []
        var key: [UInt8] = []
        while !reader.isAtEnd {
            do {
                let shared = Int(try reader.varint32())
                let nonShared = Int(try reader.varint32())
                let valueLength = Int(try reader.varint32())
                guard shared <= key.count else {
                    throw corrupt("entry \(entries.count) shares \(shared) key bytes with a \(key.count)-byte previous key")
                }
                guard nonShared <= reader.remaining, valueLength <= reader.remaining - nonShared else {
                    throw corrupt("entry \(entries.count) runs past the end of the entries")
                }
                key.removeSubrange(shared...)
                key.append(contentsOf: try reader.take(nonShared))
                entries.append(Entry(key: key, value: Array(try reader.take(valueLength))))
            } catch let failure as ByteReader.Failure {
                throw corrupt("entry \(entries.count): \(failure == .pastEnd ? "varint runs past the entries" : "malformed varint")")
            } catch let error as CheckpointError {
                throw error
            } catch {
                throw corrupt("\(error)")
            }
        }
        return entries
    }

    /// Unsigned bytewise (memcmp) order, the table's comparator.
    static func less(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.lexicographicallyPrecedes(b)
    }
}
