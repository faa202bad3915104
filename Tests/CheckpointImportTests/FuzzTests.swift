import CheckpointImport
import Foundation
import TestSupport
import XCTest

/// Seeded random-mutation fuzzing of the index/entry parsers and the safetensors header parser.
/// Any outcome but a crash (or hang) is a pass: mutated inputs may be rejected or, rarely, accepted.
///
/// Bounded for CI (3 s per test by default, about 10 s in all). To run longer or reproduce:
///   N2SPD_FUZZ_SECONDS=600 N2SPD_FUZZ_SEED=42 swift test -c release --scratch-path .build-test --filter FuzzTests
/// `N2SPD_FUZZ_ITERATIONS` caps the iteration count instead (deterministic for a given seed).
final class FuzzTests: XCTestCase {
    struct Budget {
        let deadline: Date
        let maxIterations: Int
        let seed: UInt64
        init() {
            let env = ProcessInfo.processInfo.environment
            let seconds = Double(env["N2SPD_FUZZ_SECONDS"] ?? "") ?? 3
            deadline = Date().addingTimeInterval(seconds)
            maxIterations = Int(env["N2SPD_FUZZ_ITERATIONS"] ?? "") ?? Int.max
            seed = UInt64(env["N2SPD_FUZZ_SEED"] ?? "") ?? 20_241_125
        }
        func more(_ iteration: Int) -> Bool { iteration < maxIterations && (iteration % 16 != 0 || Date() < deadline) }
    }

    static let corpus = [
        "tf-ckpt-small/model.ckpt-3", "tf-ckpt-edge/dtypes/model.ckpt", "tf-ckpt-edge/partitioned/model.ckpt",
        "tf-ckpt-edge/two-shards/model.ckpt",
    ]

    /// Parses `bytes` as an index and decodes every record the way `CheckpointBundle` does; errors are expected.
    private func parseIndex(_ bytes: [UInt8]) -> Bool {
        do {
            let table = try SSTable(bytes: bytes, file: "fuzz.index")
            if let first = table.entries.first { _ = try? BundleHeader(proto: first.value, file: "fuzz.index") }
            for record in table.entries.dropFirst() {
                _ = try? BundleEntry(name: "k", proto: record.value, file: "fuzz.index")
            }
            return true
        } catch {
            _ = "\(error)"  // every message must render
            return false
        }
    }

    func testMutatedIndexFilesNeverCrashTheReader() throws {
        let budget = Budget()
        var random = SplitMix64(seed: budget.seed)
        let originals = try Self.corpus.map { [UInt8](try Data(contentsOf: Fixtures.fixture($0 + ".index"))) }
        for original in originals { XCTAssertTrue(parseIndex(original)) }
        let handles = try originals.map { try blockHandles($0) }

        // Full bundles on disk (with their data shards) for the slower end-to-end path.
        let directory = try Fixtures.temporaryDirectory("fuzz")
        defer { try? FileManager.default.removeItem(at: directory) }
        let onDisk = try Self.corpus.enumerated().map { (i, relative) -> String in
            let source = Fixtures.fixture(relative).path
            let prefix = directory.path + "/c\(i)"
            for name in try FileManager.default.contentsOfDirectory(atPath: (source as NSString).deletingLastPathComponent)
            where name.contains(".data-") && name.hasPrefix((source as NSString).lastPathComponent) {
                let suffix = String(name.dropFirst((source as NSString).lastPathComponent.count))
                try FileManager.default.copyItem(atPath: (source as NSString).deletingLastPathComponent + "/" + name, toPath: prefix + suffix)
            }
            return prefix
        }

        var iteration = 0, accepted = 0, endToEnd = 0
        while budget.more(iteration) {
            let which = Int(random.next() % UInt64(originals.count))
            var bytes = originals[which]
            mutate(&bytes, &random)
            // Most block corruption dies at the CRC check; recompute trailers so the decoders behind it get fuzzed.
            if random.next() % 4 != 0 { fixTrailers(&bytes, handles[which]) }
            if parseIndex(bytes) { accepted += 1 }
            if iteration % 8 == 0 {
                let prefix = onDisk[which]
                try Data(bytes).write(to: URL(fileURLWithPath: prefix + ".index"))
                if let bundle = try? CheckpointBundle(path: prefix) {
                    for entry in bundle.entries { _ = try? bundle.tensor(entry.name) }
                    _ = try? ModelWeights.importCheckpoint(bundle, keepOptimizerState: true)
                }
                endToEnd += 1
            }
            iteration += 1
        }
        print("index fuzz: \(iteration) inputs (\(endToEnd) end to end), \(accepted) parsed, seed \(budget.seed)")
        XCTAssertGreaterThan(iteration, 100)
    }

    /// Valid tables whose entry protos are mutated: exercises protobuf-c and entry validation directly.
    func testMutatedEntryProtosNeverCrashTheReader() throws {
        let budget = Budget()
        var random = SplitMix64(seed: budget.seed &+ 1)
        let table = try SSTable(bytes: [UInt8](try Data(contentsOf: Fixtures.fixture(Self.corpus[1] + ".index"))), file: "x")
        var iteration = 0
        while budget.more(iteration) {
            var writer = SSTableWriter()
            for (index, record) in table.entries.enumerated() {
                var value = record.value
                if index == 0 || random.next() % 3 == 0 { mutate(&value, &random) }
                writer.add(key: record.key, value: value)
            }
            _ = parseIndex(writer.finish())
            iteration += 1
        }
        XCTAssertGreaterThan(iteration, 100)
    }

    func testMutatedSafetensorsHeadersNeverCrashTheReader() throws {
        let budget = Budget()
        var random = SplitMix64(seed: budget.seed &+ 2)
        let weights = try ModelWeights.importCheckpoint(at: Fixtures.fixture("tf-ckpt-small").path, keepOptimizerState: true)
        let directory = try Fixtures.temporaryDirectory("fuzz")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("m.safetensors")
        try SafetensorsFile.write(weights, to: url)
        let original = [UInt8](try Data(contentsOf: url))
        let headerEnd = 8 + Int(littleEndian(original, at: 0, count: 8))
        var iteration = 0
        while budget.more(iteration) {
            var bytes = original
            if random.next() % 2 == 0 {
                // mutate only the JSON header (the data section is opaque), keeping the length consistent
                var header = Array(bytes[8..<headerEnd])
                mutate(&header, &random)
                bytes = [UInt8](repeating: 0, count: 8) + header + bytes[headerEnd...]
                withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
            } else {
                mutate(&bytes, &random)
            }
            if let contents = try? SafetensorsContents(bytes: bytes, file: "fuzz.safetensors") {
                _ = try? SafetensorsFile.read(contents)
            }
            iteration += 1
        }
        XCTAssertGreaterThan(iteration, 100)
    }

    // MARK: mutation

    private func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix64) {
        let rounds = 1 + Int(random.next() % 4)
        for _ in 0..<rounds {
            let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
            switch random.next() % 7 {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1) << UInt8(random.next() % 8)
            case 1 where !bytes.isEmpty: bytes[position] = [0x00, 0xff, 0x80, 0x7f, 0x01, 0x10][Int(random.next() % 6)]
            case 2: bytes.removeSubrange(min(position, bytes.count)...)
            case 3: bytes.insert(contentsOf: (0..<(1 + random.next() % 8)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: position)
            case 4 where !bytes.isEmpty: bytes.removeSubrange(position..<min(bytes.count, position + 1 + Int(random.next() % 16)))
            case 5 where bytes.count > 2:
                let length = 1 + Int(random.next() % 8)
                let source = Int(random.next() % UInt64(bytes.count))
                for k in 0..<length where source + k < bytes.count && position + k < bytes.count { bytes[position + k] = bytes[source + k] }
            default:
                // a varint-ish run: long continuation bytes
                if !bytes.isEmpty { for k in position..<min(bytes.count, position + 11) { bytes[k] |= 0x80 } }
            }
        }
    }

    /// The original file's block handles (metaindex, index, data blocks) from its footer and index block.
    /// (Decoded here independently of the reader: these are trusted fixture files.)
    private func blockHandles(_ bytes: [UInt8]) throws -> [(offset: Int, size: Int)] {
        var position = bytes.count - 48
        func varint() -> Int {
            var value = 0, shift = 0
            while true {
                let byte = bytes[position]
                position += 1
                value |= Int(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        let meta = (offset: varint(), size: varint())
        let index = (offset: varint(), size: varint())
        var handles = [meta, index]
        let restarts = Int(littleEndian(bytes, at: index.offset + index.size - 4, count: 4))
        let end = index.offset + index.size - 4 - 4 * restarts
        position = index.offset
        while position < end {
            _ = varint()
            let keyLength = varint()
            _ = varint()
            position += keyLength
            handles.append((offset: varint(), size: varint()))
        }
        return handles
    }

    private func littleEndian(_ bytes: [UInt8], at offset: Int, count: Int) -> UInt64 {
        (0..<count).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }

    private func fixTrailers(_ bytes: inout [UInt8], _ handles: [(offset: Int, size: Int)]) {
        for handle in handles where handle.offset + handle.size + 5 <= bytes.count {
            let crc = CRC32C.mask(CRC32C.checksum(Array(bytes[handle.offset...(handle.offset + handle.size)])))
            withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange((handle.offset + handle.size + 1)..<(handle.offset + handle.size + 5), with: $0) }
        }
    }
}
