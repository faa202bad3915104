import CheckpointImport
import Foundation
import TestSupport
import XCTest

/// The real `n2sp` binary (built next to the test bundle by `swift build --build-tests`) on real files.
final class CommandLineTests: XCTestCase {
    private var n2sp: URL {
        get throws {
            let url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("n2sp")
            guard FileManager.default.isExecutableFile(atPath: url.path) else {
                throw XCTSkip("n2sp binary not built next to the tests (\(url.path))")
            }
            return url
        }
    }

    private func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try n2sp
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testImportCheckpointWritesAModelAndRefusesToOverwrite() throws {
        let directory = try Fixtures.temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out/small.safetensors").path
        let small = Fixtures.fixture("tf-ckpt-small").path

        let first = try run(["import-checkpoint", small, "-o", output, "--keep-optimizer-state"])
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(first.output.contains("depth 3, 5 base filters, 1 channel"), first.output)
        XCTAssertTrue(first.output.contains("15,410 trainable"), first.output)
        XCTAssertTrue(first.output.contains("source step   3"), first.output)
        XCTAssertTrue(first.output.contains("unused        none"), first.output)
        XCTAssertEqual(try ModelWeights.load(from: output), try ModelWeights.importCheckpoint(at: small, keepOptimizerState: true)
            .with(sourceCheckpointOf: try ModelWeights.load(from: output)))

        let again = try run(["import-checkpoint", small, "-o", output])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.output.contains("already exists"), again.output)
        let forced = try run(["import-checkpoint", small, "-o", output, "--force"])
        XCTAssertEqual(forced.status, 0, forced.output)
        XCTAssertTrue(forced.output.contains("dropped 91 tensors"), forced.output)
        XCTAssertNil(try ModelWeights.load(from: output).adam)
    }

    func testInspectPrintsJSONAndFailsOnCorruption() throws {
        let inspected = try run(["inspect", "--json", Fixtures.fixture("tf-ckpt-small").path])
        XCTAssertEqual(inspected.status, 0, inspected.output)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(inspected.output.utf8)) as? [String: Any])
        XCTAssertEqual((json["tensors"] as? [Any])?.count, 157)
        XCTAssertEqual(json["trainableParameters"] as? Int, 15_410)
        XCTAssertEqual(json["checksumsVerified"] as? Int, 157)
        XCTAssertEqual((json["architecture"] as? [String: Any])?["baseFilters"] as? Int, 5)

        let copy = try CorruptCopy(of: Fixtures.fixture("tf-ckpt-small").path, prefixName: "model.ckpt-3")
        defer { copy.remove() }
        try copy.edit(copy.dataPath) { $0[100] ^= 1 }
        let corrupt = try run(["inspect", copy.directory])
        XCTAssertEqual(corrupt.status, 1)
        XCTAssertTrue(corrupt.output.contains("CRC32C mismatch for tensor"), corrupt.output)
    }
}

private extension ModelWeights {
    /// The CLI stores the absolute source path; align it so the comparison is about the tensors.
    func with(sourceCheckpointOf other: ModelWeights) -> ModelWeights {
        var copy = self
        copy.metadata[ModelWeights.MetadataKey.sourceCheckpoint] = other.metadata[ModelWeights.MetadataKey.sourceCheckpoint]
        return copy
    }
}
