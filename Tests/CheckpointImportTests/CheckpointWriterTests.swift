import CheckpointImport
import Foundation
import TestSupport
import XCTest

final class CheckpointWriterTests: XCTestCase {
    static let fixturePrefix = Fixtures.fixture("tf-ckpt-small").path + "/model.ckpt-3"

    /// The strongest check of the writer: TF's own files come back byte for byte.
    func testRewritingTheTFCheckpointReproducesItsBytes() throws {
        let weights = try ModelWeights.importCheckpoint(at: Self.fixturePrefix, keepOptimizerState: true)
        let directory = try Fixtures.temporaryDirectory("ckpt-writer")
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = directory.path + "/model.ckpt-3"
        try CheckpointWriter.write(weights, prefix: prefix)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: prefix + ".data-00000-of-00001")),
                       try Data(contentsOf: URL(fileURLWithPath: Self.fixturePrefix + ".data-00000-of-00001")))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: prefix + ".index")),
                       try Data(contentsOf: URL(fileURLWithPath: Self.fixturePrefix + ".index")))
        // No temp files left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(),
                       ["model.ckpt-3.data-00000-of-00001", "model.ckpt-3.index"])
    }

    func testRoundTripThroughTheReaderWithAndWithoutOptimizerState() throws {
        let directory = try Fixtures.temporaryDirectory("ckpt-writer")
        defer { try? FileManager.default.removeItem(at: directory) }
        for keep in [true, false] {
            let weights = try ModelWeights.importCheckpoint(at: Self.fixturePrefix, keepOptimizerState: keep)
            let prefix = directory.path + "/keep-\(keep)/model.ckpt-7"
            try FileManager.default.createDirectory(atPath: directory.path + "/keep-\(keep)", withIntermediateDirectories: true)
            try CheckpointWriter.write(weights, prefix: prefix)
            try CheckpointWriter.writeCheckpointState(prefix: prefix)
            let (reread, report) = try ModelWeights.importCheckpointWithReport(at: directory.path + "/keep-\(keep)", keepOptimizerState: true)
            XCTAssertEqual(report.prefix, prefix)
            XCTAssertEqual(reread.parameters, weights.parameters)
            XCTAssertEqual(reread.adam, weights.adam)
            XCTAssertEqual(reread.globalStep, weights.globalStep)
            XCTAssertEqual(try CheckpointBundle(path: prefix).entries.count, keep ? 157 : 66)
        }
    }

    /// Thousands of long names push the index past one 256 KiB data block: the reader must follow the
    /// index block, and separators must sort between blocks.
    func testLargeIndexesSpanSeveralDataBlocks() throws {
        let directory = try Fixtures.temporaryDirectory("ckpt-writer")
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = directory.path + "/many"
        let padding = String(repeating: "p", count: 150)
        // Names that differ early, so prefix compression cannot shrink the block below 256 KiB.
        func name(_ i: Int) -> String { String(UInt32(truncatingIfNeeded: i &* 2_654_435_761), radix: 16) + "/\(padding)/v\(i)" }
        let tensors = (0..<3000).map { i in
            CheckpointWriter.Tensor(name: name(i), shape: [2], floats: [Float(i), -Float(i)])
        }
        try CheckpointWriter.write(tensors, prefix: prefix)
        let table = try SSTable(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: prefix + ".index"))), file: "many.index")
        XCTAssertEqual(table.entries.count, 3001)
        let bundle = try CheckpointBundle(path: prefix)
        XCTAssertEqual(bundle.entries.count, 3000)
        XCTAssertEqual(try bundle.floatTensor(name(2999)).values, [2999, -2999])
        XCTAssertEqual(try bundle.verifyAllChecksums(), 3000)
        XCTAssertGreaterThan(table.dataBlockCount, 1)
    }

    func testSeparatorsFollowLevelDB() {
        XCTAssertEqual(SSTableWriter.shortSuccessor(Array("main_unet/x".utf8)), Array("n".utf8))
        XCTAssertEqual(SSTableWriter.shortSuccessor([0xff, 0xff, 0x10]), [0xff, 0xff, 0x11])
        XCTAssertEqual(SSTableWriter.shortestSeparator(Array("abc1".utf8), Array("abe".utf8)), Array("abd".utf8))
        XCTAssertEqual(SSTableWriter.shortestSeparator(Array("abc1".utf8), Array("abd".utf8)), Array("abc1".utf8))
        XCTAssertEqual(SSTableWriter.shortestSeparator(Array("ab".utf8), Array("abc".utf8)), Array("ab".utf8))
    }
}
