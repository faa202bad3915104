import CheckpointImport
import Foundation
import TestSupport
import XCTest

/// Import speed on a paper-size checkpoint (not a test: skipped unless N2SPD_BENCH=1). Run with
/// `scripts/bench-import.sh`. Writes a synthetic ModelArchitecture.paper checkpoint (random weights and
/// Adam slots, 66.8 MB of tensor data, like the held-out BSD68 one) with CheckpointWriter, then times the
/// reader. The files are in the page cache, so this measures parsing + CRC + copying, not the disk.
final class ImportBenchmark: XCTestCase {
    func testImportSpeedOnAPaperSizeCheckpoint() throws {
        guard ProcessInfo.processInfo.environment["N2SPD_BENCH"] == "1" else {
            throw XCTSkip("benchmark: set N2SPD_BENCH=1 (scripts/bench-import.sh)")
        }
        let architecture = ModelArchitecture.paper
        var random = SplitMix64(seed: 1)
        func tensor(_ shape: [Int]) -> FloatTensor {
            FloatTensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(Int32(truncatingIfNeeded: random.next())) / Float(Int32.max) })
        }
        var parameters: [String: FloatTensor] = [:]
        var first: [String: FloatTensor] = [:]
        var second: [String: FloatTensor] = [:]
        for spec in architecture.parameterSpecs {
            parameters[spec.name] = tensor(spec.shape)
            if spec.role.isTrainable {
                first[spec.name] = tensor(spec.shape)
                second[spec.name] = tensor(spec.shape)
            }
        }
        let weights = ModelWeights(
            architecture: architecture, parameters: parameters,
            adam: AdamState(firstMoments: first, secondMoments: second, beta1Power: 0.9, beta2Power: 0.999), globalStep: 80_000)
        let directory = try Fixtures.temporaryDirectory("bench-import")
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = directory.path + "/model.ckpt-80000"

        func time<T>(_ label: String, bytes: Int, repeats: Int = 3, _ body: () throws -> T) rethrows -> T {
            var best = Double.infinity
            var result: T?
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                result = try body()
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            let padded = label + String(repeating: " ", count: max(0, 42 - label.count))
            print(padded + String(format: "%8.1f ms  %7.0f MB/s", best * 1e3, Double(bytes) / best / 1e6))
            return result!
        }

        let floats = weights.parameters.values.reduce(0) { $0 + $1.count } + 2 * architecture.trainableParameterCount + 2
        try time("write TF checkpoint (2 files, fsync)", bytes: 4 * floats + 8) { try CheckpointWriter.write(weights, prefix: prefix) }
        let bundle = try CheckpointBundle(path: prefix)
        let dataBytes = bundle.dataByteCount
        print("paper checkpoint: \(bundle.entries.count) tensors, \(dataBytes) bytes of data, CRC32C hardware: \(CRC32C.usesHardware)")
        _ = try time("open bundle (index, all block CRCs)", bytes: dataBytes) { try CheckpointBundle(path: prefix) }
        _ = try time("open + verify every tensor CRC", bytes: dataBytes) { try CheckpointBundle(path: prefix).verifyAllChecksums() }
        let imported = try time("importCheckpoint (keep optimizer state)", bytes: dataBytes) {
            try ModelWeights.importCheckpoint(at: prefix, keepOptimizerState: true)
        }
        XCTAssertEqual(imported.parameters, weights.parameters)
        let url = directory.appendingPathComponent("paper.safetensors")
        try time("safetensors write (fsync)", bytes: dataBytes) { try SafetensorsFile.write(imported, to: url) }
        let loaded = try time("safetensors read", bytes: dataBytes) { try ModelWeights.load(from: url.path) }
        XCTAssertEqual(loaded, imported)
        let raw = [UInt8](repeating: 7, count: dataBytes)
        _ = time("CRC32C alone", bytes: dataBytes) { CRC32C.checksum(raw) }
    }
}
