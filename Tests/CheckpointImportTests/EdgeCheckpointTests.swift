import CheckpointImport
import Foundation
import TestSupport
import XCTest

/// `shared/fixtures/tf-ckpt-edge`: every value as its README lists it.
final class EdgeCheckpointTests: XCTestCase {
    static func path(_ case: String) -> String { Fixtures.fixture("tf-ckpt-edge/\(`case`)").path }

    func testEveryDTypeDecodesToTheListedValues() throws {
        let bundle = try CheckpointBundle(path: Self.path("dtypes"))
        XCTAssertEqual(bundle.entries.map(\.name), ["b", "bf16", "empty", "f16", "f32", "f64", "i32", "i64", "s", "scalar", "u8"])
        XCTAssertEqual(try bundle.verifyAllChecksums(), 11)

        XCTAssertEqual(try bundle.floatTensor("f32"), FloatTensor(shape: [2, 3], values: [0, 0.25, 0.5, 0.75, 1, 1.25]))
        XCTAssertEqual(try bundle.tensor("f64").storage, .double([1.5, -2.25, 1e300]))
        XCTAssertEqual(try bundle.tensor("i32").storage, .int32([1, -2, 2_147_483_647]))
        XCTAssertEqual(try bundle.tensor("i64").storage, .int64([1, -2, 1 << 62]))
        XCTAssertEqual(try bundle.tensor("b").storage, .bool([true, false, true]))
        XCTAssertEqual(try bundle.tensor("u8").storage, .uint8([1, 2]))
        XCTAssertEqual(try bundle.tensor("u8").shape, [2])
        XCTAssertEqual(try bundle.tensor("bf16").floatValues, [1, -2.5, 3.140625])
        XCTAssertEqual(try bundle.tensor("f16").floatValues, [1, -2.5, 65504])
        XCTAssertEqual(try bundle.tensor("s").storage, .string([[], Array("hello".utf8), [UInt8](repeating: UInt8(ascii: "x"), count: 200)]))
        XCTAssertEqual(try bundle.entry("s").size, 213)

        let scalar = try bundle.floatTensor("scalar")
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.values, [7])
        XCTAssertEqual(try bundle.floatScalar("scalar"), 7)

        let empty = try bundle.entry("empty")
        XCTAssertEqual(empty.shape, [0, 4])
        XCTAssertEqual(empty.size, 0)
        XCTAssertEqual(empty.maskedCRC32C, 0xa282_ead8)
        XCTAssertEqual(try bundle.floatTensor("empty"), FloatTensor(shape: [0, 4], values: []))

        // Asking for the wrong type names both types rather than reinterpreting bytes.
        XCTAssertThrowsError(try bundle.floatTensor("s")) { error in
            XCTAssertEqual(error as? CheckpointError,
                           .wrongDataType(file: bundle.indexPath, tensor: "s", expected: "DT_FLOAT", found: "DT_STRING"))
        }
        XCTAssertThrowsError(try bundle.int64Scalar("i64")) // shape [3], not a scalar
    }

    func testPartitionedVariableIsRejectedByNameAndThePlainOneReads() throws {
        let bundle = try CheckpointBundle(path: Self.path("partitioned"))
        XCTAssertEqual(bundle.entries.map(\.name), ["part", "plain"])
        XCTAssertEqual(bundle.sliceKeyCount, 2)
        XCTAssertEqual(try bundle.floatTensor("plain").values, [1, 2])
        let part = try bundle.entry("part")
        XCTAssertEqual(part.shape, [5, 3])
        XCTAssertEqual(part.slices.count, 2)
        XCTAssertThrowsError(try bundle.floatTensor("part")) { error in
            XCTAssertEqual(error as? CheckpointError, .partitionedVariable(file: bundle.indexPath, tensor: "part"))
            XCTAssertTrue("\(error)".contains("partitioned variable"), "\(error)")
        }
    }

    func testTwoShardsReadFromTheirOwnFiles() throws {
        let bundle = try CheckpointBundle(path: Self.path("two-shards"))
        XCTAssertEqual(bundle.numShards, 2)
        XCTAssertEqual(try bundle.entry("on_cpu1").shardID, 1)
        XCTAssertEqual(try bundle.floatTensor("on_cpu0").values, [1, 2, 3])
        XCTAssertEqual(try bundle.floatTensor("on_cpu1").values, [4, 5])
    }

    func testDeletingEitherShardGivesAMissingShardError() throws {
        for shard in 0..<2 {
            let copy = try CorruptCopy(of: Self.path("two-shards"), prefixName: "model.ckpt")
            defer { copy.remove() }
            let victim = CheckpointBundle.shardPath(prefix: copy.prefix, shard: shard, of: 2)
            try FileManager.default.removeItem(atPath: victim)
            XCTAssertThrowsError(try CheckpointBundle(path: copy.directory)) { error in
                XCTAssertEqual(error as? CheckpointError, .missingShard(file: victim, shardID: shard, numShards: 2))
            }
        }
    }

    func testNonNoise2SameBundlesAreNotImported() throws {
        XCTAssertThrowsError(try ModelWeights.importCheckpoint(at: Self.path("dtypes"), keepOptimizerState: false)) { error in
            guard case .notANoise2SameModel = error as? CheckpointError else { return XCTFail("\(error)") }
        }
    }
}
