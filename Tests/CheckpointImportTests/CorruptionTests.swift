import CheckpointImport
import Foundation
import TestSupport
import XCTest

/// Each corruption of a copy of tf-ckpt-small must produce its own specific error (spec §11).
final class CorruptionTests: XCTestCase {
    static let fixture = Fixtures.fixture("tf-ckpt-small").path

    private func copy() throws -> CorruptCopy { try CorruptCopy(of: Self.fixture, prefixName: "model.ckpt-3") }

    /// Opens the copy and reads every tensor, returning the first error.
    private func openAndReadAll(_ copy: CorruptCopy) -> CheckpointError? {
        do {
            let bundle = try CheckpointBundle(path: copy.prefix)
            try bundle.verifyAllChecksums()
            return nil
        } catch {
            return error
        }
    }

    func testFlippedByteInTheDataBlockIsABlockChecksumError() throws {
        let c = try copy(); defer { c.remove() }
        try c.edit(c.indexPath) { $0[0x30] ^= 0x01 }  // inside the key "global_step"
        XCTAssertEqual(openAndReadAll(c), .blockChecksumMismatch(
            file: c.indexPath, block: "data block 0", offset: 0, stored: 0x3bb1_b7e0, computed: crcOfFlippedBlock(c)))
    }

    private func crcOfFlippedBlock(_ c: CorruptCopy) -> UInt32 {
        let bytes = (try? c.bytes(c.indexPath)) ?? []
        return CRC32C.checksum(Array(bytes[0..<5786]))  // block 0..<5785 plus its type byte
    }

    func testFlippedByteInTheIndexBlockAndFooterAreCaught() throws {
        let c = try copy(); defer { c.remove() }
        try c.edit(c.indexPath) { $0[0x16ae] ^= 0x40 }  // index block key "n" → "."
        guard case .blockChecksumMismatch(_, "index block", _, _, _) = openAndReadAll(c) else { return XCTFail("\(String(describing: openAndReadAll(c)))") }
    }

    func testFlippedByteInTensorDataIsATensorChecksumErrorNamingTheTensor() throws {
        let c = try copy(); defer { c.remove() }
        try c.edit(c.dataPath) { $0[20] ^= 0x80 }  // second float of .../batch_norm_1/beta (offset 16)
        let bundle = try CheckpointBundle(path: c.prefix)  // opening does not read data
        XCTAssertNoThrow(try bundle.floatTensor("main_unet/out_conv/kernel"))
        XCTAssertThrowsError(try bundle.floatTensor("main_unet/bottom_block/block_0/batch_norm_1/beta")) { error in
            guard case .tensorChecksumMismatch(c.dataPath, "main_unet/bottom_block/block_0/batch_norm_1/beta", CRC32C.unmask(0x7d0f_be54), _) = error as? CheckpointError else {
                return XCTFail("\(error)")
            }
        }
        XCTAssertThrowsError(try ModelWeights.importCheckpoint(at: c.directory, keepOptimizerState: false))
    }

    func testBadMagic() throws {
        let c = try copy(); defer { c.remove() }
        try c.edit(c.indexPath) { $0[$0.count - 1] = 0x00 }
        XCTAssertEqual(openAndReadAll(c), .badMagic(file: c.indexPath, found: 0x0047_7524_8b80_fb57))
    }

    func testTruncatedIndex() throws {
        let c = try copy(); defer { c.remove() }
        let original = try c.bytes(c.indexPath)
        try c.write(Array(original.prefix(40)), to: c.indexPath)
        guard case .truncatedIndex = openAndReadAll(c) else { return XCTFail("\(String(describing: openAndReadAll(c)))") }
        // Cut in the middle: the footer is gone, so whatever now sits at the end is not the magic.
        try c.write(Array(original.prefix(3000)), to: c.indexPath)
        guard case .badMagic = openAndReadAll(c) else { return XCTFail("\(String(describing: openAndReadAll(c)))") }
        // Footer kept but a block cut short (bytes removed from the middle): the handles point past the end.
        try c.write(Array(original.prefix(1000)) + Array(original.suffix(48)), to: c.indexPath)
        guard case .blockOutOfBounds = openAndReadAll(c) else { return XCTFail("\(String(describing: openAndReadAll(c)))") }
    }

    func testTruncatedDataFileNamesTheFirstTensorThatNoLongerFits() throws {
        let c = try copy(); defer { c.remove() }
        let original = try c.bytes(c.dataPath)
        try c.write(Array(original.prefix(185_000)), to: c.dataPath)
        guard case .truncatedData(c.dataPath, let tensor, _, _, 185_000) = openAndReadAll(c) else {
            return XCTFail("\(String(describing: openAndReadAll(c)))")
        }
        XCTAssertTrue(tensor.hasPrefix("main_unet/"), tensor)
    }

    func testMissingDataShard() throws {
        let c = try copy(); defer { c.remove() }
        try FileManager.default.removeItem(atPath: c.dataPath)
        XCTAssertEqual(openAndReadAll(c), .missingShard(file: c.dataPath, shardID: 0, numShards: 1))
    }

    func testSnappyAndUnknownCompressionAreRejected() throws {
        for type: UInt8 in [1, 7] {
            let c = try copy(); defer { c.remove() }
            try c.edit(c.indexPath) { bytes in
                bytes[5785] = type
                let crc = CRC32C.mask(CRC32C.checksum(Array(bytes[0..<5786])))  // keep the trailer CRC valid
                withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(5786..<5790, with: $0) }
            }
            XCTAssertEqual(openAndReadAll(c), .compressedBlock(file: c.indexPath, block: "data block 0", offset: 0, compression: type))
        }
    }

    func testMissingCheckpointFilesAndPaths() throws {
        let c = try copy(); defer { c.remove() }
        XCTAssertEqual(try? CheckpointBundle(path: c.directory).prefix, c.prefix)
        // `checkpoint` naming a prefix that is gone
        try Data("model_checkpoint_path: \"model.ckpt-9\"\n".utf8).write(to: URL(fileURLWithPath: c.directory + "/checkpoint"))
        XCTAssertThrowsError(try CheckpointBundle(path: c.directory)) { error in
            guard case .checkpointStateInvalid = error as? CheckpointError else { return XCTFail("\(error)") }
        }
        // an absolute path from the machine that wrote it: found by name next to the `checkpoint` file
        try Data("model_checkpoint_path: \"/home/someone/runs/model.ckpt-3\"\n".utf8).write(to: URL(fileURLWithPath: c.directory + "/checkpoint"))
        XCTAssertEqual(try CheckpointBundle(path: c.directory).prefix, c.prefix)
        // no `checkpoint` file: fall back to the highest -N
        try FileManager.default.removeItem(atPath: c.directory + "/checkpoint")
        try FileManager.default.copyItem(atPath: c.indexPath, toPath: c.directory + "/model.ckpt-10.index")
        try FileManager.default.copyItem(atPath: c.dataPath, toPath: c.directory + "/model.ckpt-10.data-00000-of-00001")
        XCTAssertEqual(try CheckpointBundle(path: c.directory).prefix, c.directory + "/model.ckpt-10")
        XCTAssertEqual(try? CheckpointBundle(path: c.directory + "/nothing-here").prefix, nil)
        XCTAssertThrowsError(try CheckpointBundle(path: c.directory + "/nothing-here")) { error in
            XCTAssertEqual(error as? CheckpointError, .notFound(path: c.directory + "/nothing-here"))
        }
        XCTAssertThrowsError(try CheckpointBundle(path: c.directory + "/model.ckpt-3.meta.absent"))
    }

    func testMissingRequestedTensor() throws {
        let bundle = try CheckpointBundle(path: Self.fixture)
        XCTAssertThrowsError(try bundle.floatTensor("main_unet/nope")) { error in
            XCTAssertEqual(error as? CheckpointError, .tensorNotFound(file: bundle.indexPath, tensor: "main_unet/nope"))
        }
    }

    func testTheCheckpointStateParserHandlesEscapes() throws {
        XCTAssertEqual(try CheckpointLocation.modelCheckpointPath(in: "x: 1\nmodel_checkpoint_path: \"a\\\"b\\\\c\\101\"\n", file: "f"), "a\"b\\cA")
        XCTAssertNil(try CheckpointLocation.modelCheckpointPath(in: "all_model_checkpoint_paths: \"x\"\n", file: "f"))
    }
}

/// Bundles crafted with the writer's pieces, for header and entry rejections no fixture contains.
final class CraftedBundleTests: XCTestCase {
    private func writeIndex(_ records: [(String, [UInt8])], header: BundleHeader? = BundleHeader(numShards: 1),
                            shards: Int = 1, in directory: URL) throws -> String {
        let prefix = directory.path + "/crafted"
        var table = SSTableWriter()
        if let header { table.add(key: [], value: header.encodedProto()) }
        for (key, value) in records { table.add(key: Array(key.utf8), value: value) }
        try Data(table.finish()).write(to: URL(fileURLWithPath: prefix + ".index"))
        for shard in 0..<shards {
            try Data([0, 0, 0x80, 0x3f] + [UInt8](repeating: 0, count: 12)).write(to: URL(fileURLWithPath: CheckpointBundle.shardPath(prefix: prefix, shard: shard, of: shards)))
        }
        return prefix
    }

    private func entry(_ name: String, shape: [Int] = [], shard: Int = 0, offset: Int = 0, size: Int = 4,
                       dataType: TensorDataType = .float) -> (String, [UInt8]) {
        (name, BundleEntry(name: name, dataType: dataType, shape: shape, shardID: shard, offset: offset, size: size,
                           maskedCRC32C: CRC32C.mask(CRC32C.checksum([0, 0, 0x80, 0x3f]))).encodedProto())
    }

    private func expectOpenError(_ records: [(String, [UInt8])], header: BundleHeader? = BundleHeader(numShards: 1),
                                 shards: Int = 1, line: UInt = #line, _ check: (CheckpointError, String) -> Bool) throws {
        let directory = try Fixtures.temporaryDirectory("crafted")
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = try writeIndex(records, header: header, shards: shards, in: directory)
        do {
            _ = try CheckpointBundle(path: prefix)
            XCTFail("opened", line: line)
        } catch {
            XCTAssertTrue(check(error, prefix + ".index"), "\(error)", line: line)
        }
    }

    func testAWellFormedCraftedBundleOpens() throws {
        let directory = try Fixtures.temporaryDirectory("crafted")
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = try writeIndex([entry("one")], in: directory)
        XCTAssertEqual(try CheckpointBundle(path: prefix).floatScalar("one"), 1)
    }

    func testHeaderRejections() throws {
        // endianness is not a stored property of BundleHeader: encode BIG by hand (field 2 = 1).
        let bigEndianHeader: [UInt8] = [0x08, 0x01, 0x10, 0x01, 0x1a, 0x02, 0x08, 0x01]
        let directory = try Fixtures.temporaryDirectory("crafted")
        defer { try? FileManager.default.removeItem(at: directory) }
        var table = SSTableWriter()
        table.add(key: [], value: bigEndianHeader)
        try Data(table.finish()).write(to: URL(fileURLWithPath: directory.path + "/be.index"))
        XCTAssertThrowsError(try CheckpointBundle(path: directory.path + "/be")) { error in
            XCTAssertEqual(error as? CheckpointError, .bigEndian(file: directory.path + "/be.index"))
        }

        try expectOpenError([entry("one")], header: BundleHeader(numShards: 0)) { error, _ in
            if case .badHeader = error { true } else { false }
        }
        try expectOpenError([entry("one")], header: BundleHeader(numShards: 1, producer: 2, minConsumer: 2)) { error, _ in
            if case .unsupportedVersion = error { true } else { false }
        }
        try expectOpenError([entry("one")], header: BundleHeader(numShards: 1, badConsumers: [1])) { error, _ in
            if case .unsupportedVersion = error { true } else { false }
        }
        try expectOpenError([entry("one")], header: nil) { error, _ in
            if case .badHeader = error { true } else { false }
        }
    }

    func testEntryRejections() throws {
        try expectOpenError([entry("one", shard: 1)]) { error, file in
            error == .shardOutOfRange(file: file, tensor: "one", shardID: 1, numShards: 1)
        }
        try expectOpenError([entry("one", size: 8)]) { error, file in  // scalar float stored in 8 bytes
            error == .sizeMismatch(file: file, tensor: "one", expected: 4, stored: 8)
        }
        try expectOpenError([entry("one", shape: [1], offset: 14)]) { error, _ in
            if case .truncatedData(_, "one", 14, 4, 16) = error { true } else { false }
        }
        try expectOpenError([("junk", [0xff, 0xff, 0xff])]) { error, file in
            error == .badEntry(file: file, tensor: "junk", reason: "does not parse as BundleEntryProto")
        }
        // negative dimension: shape { dim { size: -1 } }
        try expectOpenError([("neg", [0x08, 0x01, 0x12, 0x0d, 0x12, 0x0b, 0x08] + [UInt8](repeating: 0xff, count: 9) + [0x01])]) { error, _ in
            if case .badEntry(_, "neg", _) = error { true } else { false }
        }
        // unknown_rank = true
        try expectOpenError([("ur", [0x08, 0x01, 0x12, 0x02, 0x18, 0x01])]) { error, _ in
            if case .badEntry(_, "ur", _) = error { true } else { false }
        }
    }

    func testUnsupportedDTypeIsNamed() throws {
        let directory = try Fixtures.temporaryDirectory("crafted")
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = try writeIndex([entry("c", dataType: .complex64)], in: directory)
        let bundle = try CheckpointBundle(path: prefix)
        XCTAssertThrowsError(try bundle.tensor("c")) { error in
            XCTAssertEqual(error as? CheckpointError, .unsupportedDataType(file: prefix + ".index", tensor: "c", dataType: "DT_COMPLEX64"))
        }
    }

    // MARK: mapping onto the U-Net

    private func smallWeights() throws -> ModelWeights {
        try ModelWeights.importCheckpoint(at: Fixtures.fixture("tf-ckpt-small").path, keepOptimizerState: false)
    }

    private func importError(_ tensors: [CheckpointWriter.Tensor]) throws -> CheckpointError? {
        let directory = try Fixtures.temporaryDirectory("crafted")
        defer { try? FileManager.default.removeItem(at: directory) }
        try CheckpointWriter.write(tensors, prefix: directory.path + "/m")
        do {
            _ = try ModelWeights.importCheckpoint(at: directory.path + "/m", keepOptimizerState: true)
            return nil
        } catch {
            return error
        }
    }

    private func tensors(_ weights: ModelWeights) -> [CheckpointWriter.Tensor] {
        weights.parameters.map { CheckpointWriter.Tensor(name: $0.key, shape: $0.value.shape, floats: $0.value.values) }
    }

    func testThreeDimensionalModelsAreRejectedClearly() throws {
        var all = tensors(try smallWeights())
        let index = all.firstIndex { $0.name == "main_unet/first_convolution/kernel" }!
        all[index] = CheckpointWriter.Tensor(name: all[index].name, shape: [3, 3, 3, 1, 5], floats: [Float](repeating: 0, count: 135))
        guard case .threeDimensionalModel(_, "main_unet/first_convolution/kernel", [3, 3, 3, 1, 5]) = try importError(all) else {
            return XCTFail("\(String(describing: try importError(all)))")
        }
        XCTAssertTrue("\(try importError(all)!)".contains("3-D"))
    }

    /// A hostile name must not make the importer enumerate a billion residual blocks.
    func testAbsurdBlockCountsAreRejectedNotEnumerated() throws {
        var all = tensors(try smallWeights())
        all.append(CheckpointWriter.Tensor(name: "main_unet/encoding_block_1/res_999999/batch_norm_1/gamma", shape: [5], floats: [1, 1, 1, 1, 1]))
        guard case .notANoise2SameModel = try importError(all) else { return XCTFail("\(String(describing: try importError(all)))") }
    }

    func testMissingParameterAndWrongShapeAreNamed() throws {
        let weights = try smallWeights()
        var all = tensors(weights)
        all.removeAll { $0.name == "main_unet/unet_out/moving_variance" }
        XCTAssertEqual(try importError(all)?.description.contains("main_unet/unet_out/moving_variance"), true)
        guard case .missingParameter(_, "main_unet/unet_out/moving_variance") = try importError(all) else { return XCTFail() }

        all = tensors(weights)
        let index = all.firstIndex { $0.name == "main_unet/unet_out/gamma" }!
        all[index] = CheckpointWriter.Tensor(name: all[index].name, shape: [6], floats: [Float](repeating: 1, count: 6))
        guard case .parameterShapeMismatch(_, "main_unet/unet_out/gamma", [5], [6]) = try importError(all) else {
            return XCTFail("\(String(describing: try importError(all)))")
        }
    }

    func testUnusedTensorsAreReportedAndPartialAdamStateIsAnError() throws {
        let weights = try smallWeights()
        let directory = try Fixtures.temporaryDirectory("crafted")
        defer { try? FileManager.default.removeItem(at: directory) }
        var all = tensors(weights)
        all.append(CheckpointWriter.Tensor(name: "extra/thing", shape: [1], floats: [1]))
        try CheckpointWriter.write(all, prefix: directory.path + "/m")
        let (imported, report) = try ModelWeights.importCheckpointWithReport(at: directory.path + "/m", keepOptimizerState: true)
        XCTAssertEqual(report.unusedTensors, ["extra/thing"])
        XCTAssertNil(imported.adam)
        XCTAssertNil(report.sourceStep)

        all.append(CheckpointWriter.Tensor(name: "main_unet/out_conv/kernel/Adam", shape: [1, 1, 5, 1], floats: [0, 0, 0, 0, 0]))
        guard case .missingParameter = try importError(all) else { return XCTFail() }
    }
}
