import CheckpointImport
import Foundation
import TestSupport
import XCTest

final class SafetensorsTests: XCTestCase {
    static let small = Fixtures.fixture("tf-ckpt-small").path

    /// TF checkpoint → safetensors → loaded: identical bit for bit (Float == would hide -0/NaN payload
    /// differences, so compare bit patterns too).
    func testRoundTripFromTheTFCheckpointIsBitExact() throws {
        let imported = try ModelWeights.importCheckpoint(at: Self.small, keepOptimizerState: true)
        let directory = try Fixtures.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("small.safetensors")
        try SafetensorsFile.write(imported, to: url)
        let loaded = try ModelWeights.load(from: url.path)
        XCTAssertEqual(loaded, imported)
        for (name, tensor) in imported.parameters {
            XCTAssertEqual(loaded.parameters[name]?.values.map(\.bitPattern), tensor.values.map(\.bitPattern), name)
        }
        for (name, tensor) in imported.adam!.secondMoments {
            XCTAssertEqual(loaded.adam?.secondMoments[name]?.values.map(\.bitPattern), tensor.values.map(\.bitPattern), name)
        }
        XCTAssertEqual(loaded.globalStep, 3)
        XCTAssertEqual(loaded.metadata[ModelWeights.MetadataKey.normalization], ModelWeights.normalizationPolicy)

        // The file itself: 8-aligned data, TF names, optimizer scalars as the brief specifies.
        let contents = try SafetensorsContents(contentsOf: url)
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual((8 + headerLength) % 8, 0)
        XCTAssertEqual(contents.tensors.count, 157)
        XCTAssertEqual(contents.tensor("global_step")?.dtype, "I64")
        XCTAssertEqual(contents.tensor("global_step")?.shape, [])
        XCTAssertEqual(contents.tensor("beta1_power")?.dtype, "F32")
        XCTAssertEqual(contents.tensor("main_unet/out_conv/kernel/Adam_1")?.shape, [1, 1, 5, 1])
        XCTAssertEqual(contents.metadata["format_version"], SafetensorsFile.formatVersion)
        XCTAssertEqual(contents.metadata["source_step"], "3")
        XCTAssertNotNil(contents.metadata["architecture"])
        // Densely packed in data order (the reference implementation rejects holes).
        var end = 0
        for tensor in contents.tensors {
            XCTAssertEqual(tensor.dataRange.lowerBound, end)
            end = tensor.dataRange.upperBound
        }
        XCTAssertEqual(8 + Int(headerLength) + end, bytes.count)
    }

    func testWithoutOptimizerStateOnlyModelVariablesAreStored() throws {
        let imported = try ModelWeights.importCheckpoint(at: Self.small, keepOptimizerState: false)
        let directory = try Fixtures.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("m.safetensors")
        try imported.save(to: url.path)
        XCTAssertEqual(try SafetensorsContents(contentsOf: url).tensors.count, 66)
        XCTAssertEqual(try SafetensorsFile.read(url), imported)
        // Writing again replaces the file atomically and leaves no temp files behind.
        try SafetensorsFile.write(imported, to: url)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["m.safetensors"])
    }

    /// A file without our metadata (as another tool might write it) still loads: architecture inferred.
    func testArchitectureIsInferredWhenMetadataIsMissing() throws {
        let imported = try ModelWeights.importCheckpoint(at: Self.small, keepOptimizerState: false)
        let directory = try Fixtures.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("m.safetensors")
        try SafetensorsFile.write(imported, to: url)
        var header = try header(of: url)
        header["__metadata__"] = nil
        let foreign = directory.appendingPathComponent("foreign.safetensors")
        try rewrite(url, header: header, to: foreign)
        let loaded = try SafetensorsFile.read(foreign)
        XCTAssertEqual(loaded.architecture, imported.architecture)
        XCTAssertEqual(loaded.parameters, imported.parameters)
    }

    // MARK: hostile files

    func testHostileHeadersAreRejectedWithTheSpecificError() throws {
        let imported = try ModelWeights.importCheckpoint(at: Self.small, keepOptimizerState: false)
        let directory = try Fixtures.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("m.safetensors")
        try SafetensorsFile.write(imported, to: url)
        let good = [UInt8](try Data(contentsOf: url))
        let name = "main_unet/out_conv/kernel"

        func expect(_ bytes: [UInt8], _ check: (SafetensorsError) -> Bool, line: UInt = #line) {
            do {
                _ = try SafetensorsFile.read(SafetensorsContents(bytes: bytes, file: "t.safetensors"))
                XCTFail("accepted", line: line)
            } catch let error as SafetensorsError {
                XCTAssertTrue(check(error), "\(error)", line: line)
            } catch {
                XCTFail("unexpected \(error)", line: line)
            }
        }
        func with(_ edit: (inout [String: Any]) -> Void) throws -> [UInt8] {
            var header = try self.header(of: url)
            edit(&header)
            let out = directory.appendingPathComponent("edit.safetensors")
            try rewrite(url, header: header, to: out)
            return [UInt8](try Data(contentsOf: out))
        }
        func entry(_ header: [String: Any]) -> [String: Any] { header[name] as! [String: Any] }

        var absurd = good
        absurd.replaceSubrange(0..<8, with: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
        expect(absurd) { if case .headerTooLarge = $0 { true } else { false } }
        expect(Array(good.prefix(5))) { if case .truncated = $0 { true } else { false } }
        var notJSON = good
        notJSON[9] = UInt8(ascii: "}")
        expect(notJSON) { if case .invalidHeader = $0 { true } else { false } }
        expect(try with { var e = entry($0); e["dtype"] = "F31"; $0[name] = e }) {
            $0 == .unknownDType(file: "t.safetensors", tensor: name, dtype: "F31")
        }
        expect(try with { var e = entry($0); e["data_offsets"] = [0, 1 << 40]; $0[name] = e }) {
            if case .invalidTensor(_, name, _) = $0 { true } else { false }
        }
        expect(try with { var e = entry($0); e["data_offsets"] = [8, 4]; $0[name] = e }) {
            if case .invalidTensor(_, name, _) = $0 { true } else { false }
        }
        expect(try with { var e = entry($0); e["shape"] = [1, 1, 5, -1]; $0[name] = e }) {
            if case .invalidTensor(_, name, _) = $0 { true } else { false }
        }
        // Two tensors pointing at the same bytes.
        expect(try with {
            let other = $0["main_unet/unet_out/beta"] as! [String: Any]
            var e = entry($0); e["data_offsets"] = other["data_offsets"]; e["shape"] = [5]; $0["main_unet/unet_out/beta"] = other
            $0["main_unet/unet_out/gamma"] = e
        }) { if case .overlappingTensors = $0 { true } else { false } }
        expect(try with { $0[name] = nil }) { $0 == .missingTensor(file: "t.safetensors", tensor: name) }
        expect(try with { var m = $0["__metadata__"] as! [String: Any]; m["architecture"] = "{\"depth\": 1}"; $0["__metadata__"] = m }) {
            if case .invalidMetadata = $0 { true } else { false }
        }
        expect(try with { var m = $0["__metadata__"] as! [String: Any]; m["x"] = 3; $0["__metadata__"] = m }) {
            if case .invalidMetadata = $0 { true } else { false }
        }
    }

    // MARK: helpers

    private func header(of url: URL) throws -> [String: Any] {
        let bytes = try Data(contentsOf: url)
        let length = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        return try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + length))) as! [String: Any]
    }

    private func rewrite(_ url: URL, header: [String: Any], to out: URL) throws {
        let bytes = try Data(contentsOf: url)
        let length = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var newLength = UInt64(json.count).littleEndian
        var data = Data(bytes: &newLength, count: 8)
        data.append(json)
        data.append(bytes.subdata(in: (8 + length)..<bytes.count))
        try data.write(to: out)
    }
}
