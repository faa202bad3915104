import CheckpointImport
import Foundation
import TestSupport
import XCTest

/// The real Noise2Same checkpoint in `shared/fixtures/tf-ckpt-small` (157 entries, 5 base filters).
final class SmallCheckpointTests: XCTestCase {
    struct Variable: Decodable { let name: String; let shape: [Int]; let dtype: String; let role: String }

    static let directory = Fixtures.fixture("tf-ckpt-small").path
    static let prefix = directory + "/model.ckpt-3"

    func variables() throws -> [Variable] {
        try JSONDecoder().decode([Variable].self, from: Data(contentsOf: Fixtures.fixture("tf-ckpt-small/variables.json")))
    }

    func testEveryEntryMatchesVariablesJSONAndEveryChecksumVerifies() throws {
        let bundle = try CheckpointBundle(path: Self.prefix)
        XCTAssertEqual(bundle.prefix, Self.prefix)
        XCTAssertEqual(bundle.numShards, 1)
        XCTAssertEqual(bundle.entries.count, 157)
        let listed = try variables()
        XCTAssertEqual(bundle.entries.map(\.name), listed.map(\.name).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        for variable in listed {
            let entry = try bundle.entry(variable.name)
            XCTAssertEqual(entry.shape, variable.shape, variable.name)
            XCTAssertEqual(entry.dataType, variable.dtype == "int64" ? .int64 : .float, variable.name)
        }
        XCTAssertEqual(try bundle.verifyAllChecksums(), 157)
        // Spec §6.1: densely packed in key order, the last one ending at the file size.
        XCTAssertEqual(bundle.dataByteCount, 185_896)
        XCTAssertEqual(try bundle.entry("beta2_power").offset, 4)
        XCTAssertEqual(try bundle.entry("main_unet/bottom_block/block_0/batch_norm_1/beta").offset, 16)
        XCTAssertEqual(try bundle.entry("main_unet/bottom_block/block_0/batch_norm_1/beta").maskedCRC32C, 0x7d0f_be54)
    }

    func testScalarsHaveTheValuesTheSpecQuotes() throws {
        let bundle = try CheckpointBundle(path: Self.prefix)
        XCTAssertEqual(try bundle.floatScalar("beta1_power"), Float(bitPattern: 0x3f27_f62a))  // 0.6561 = 0.9^4
        XCTAssertEqual(try bundle.floatScalar("beta1_power"), 0.6561, accuracy: 1e-7)
        XCTAssertEqual(try bundle.floatScalar("beta2_power"), Float(bitPattern: 0x3f7e_fa41))  // 0.999^4
        XCTAssertEqual(try bundle.int64Scalar("global_step"), 3)
        let beta = try bundle.floatTensor("main_unet/bottom_block/block_0/batch_norm_1/beta")
        XCTAssertEqual(beta.shape, [20])
        XCTAssertEqual(beta.values[0].bitPattern, 0x3a3a_b9c8)  // data bytes c8 b9 3a 3a
    }

    func testPrefixIndexPathAndDirectoryAllResolveToTheSameCheckpoint() throws {
        for path in [Self.prefix, Self.prefix + ".index", Self.directory, Self.directory + "/",
                     Self.prefix + ".data-00000-of-00001", Self.prefix + ".meta"] {
            XCTAssertEqual(try CheckpointBundle(path: path).prefix.replacingOccurrences(of: "//", with: "/"), Self.prefix, path)
        }
    }

    func testImportInfersTheArchitectureAndKeepsEverything() throws {
        let (weights, report) = try ModelWeights.importCheckpointWithReport(at: Self.directory, keepOptimizerState: true)
        XCTAssertEqual(weights.architecture, ModelArchitecture(depth: 3, baseFilters: 5, inputChannels: 1))
        XCTAssertEqual(weights.architecture.depth, 3)
        XCTAssertEqual(weights.architecture.baseFilters, 5)
        XCTAssertEqual(weights.architecture.inputChannels, 1)
        try weights.validate()
        XCTAssertEqual(weights.parameters.count, 66)  // 44 trainable + 22 moving statistics
        XCTAssertEqual(report.trainableParameterCount, 15_410)
        XCTAssertEqual(report.sourceStep, 3)
        XCTAssertEqual(report.unusedTensors, [])
        XCTAssertEqual(report.droppedOptimizerTensors, [])
        XCTAssertEqual(weights.globalStep, 3)
        let adam = try XCTUnwrap(weights.adam)
        XCTAssertEqual(adam.firstMoments.count, 44)
        XCTAssertEqual(adam.secondMoments.count, 44)
        XCTAssertEqual(adam.beta1Power, 0.6561, accuracy: 1e-7)
        XCTAssertEqual(adam.beta2Power, 0.996006, accuracy: 1e-6)
        XCTAssertEqual(weights.metadata[ModelWeights.MetadataKey.sourceStep], "3")

        // Values are exactly the stored ones (compare with a direct read).
        let bundle = try CheckpointBundle(path: Self.prefix)
        for (name, tensor) in weights.parameters { XCTAssertEqual(tensor, try bundle.floatTensor(name), name) }
        for (name, tensor) in adam.firstMoments { XCTAssertEqual(tensor, try bundle.floatTensor(name + "/Adam"), name) }
        for (name, tensor) in adam.secondMoments { XCTAssertEqual(tensor, try bundle.floatTensor(name + "/Adam_1"), name) }
        // The transposed convolution keeps TF's [kh, kw, out, in] layout.
        XCTAssertEqual(weights.parameters["main_unet/decoding_block_1/upsampling/transposed_convolution/kernel"]?.shape, [2, 2, 5, 10])
    }

    func testImportWithoutOptimizerStateReportsWhatItDropped() throws {
        let (weights, report) = try ModelWeights.importCheckpointWithReport(at: Self.prefix, keepOptimizerState: false)
        XCTAssertNil(weights.adam)
        XCTAssertNil(weights.globalStep)
        XCTAssertEqual(report.droppedOptimizerTensors.count, 44 * 2 + 3)
        XCTAssertEqual(report.unusedTensors, [])
        XCTAssertEqual(report.sourceStep, 3)
    }
}
