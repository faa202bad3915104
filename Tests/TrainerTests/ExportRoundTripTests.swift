import CheckpointImport
import Foundation
import TestSupport
import Trainer
import XCTest

/// A model trained here goes back into TF's format: export (CheckpointWriter) → import gives identical
/// tensors, and the variable list (names, shapes, dtypes) is exactly the reference checkpoint's.
final class ExportRoundTripTests: XCTestCase {
    func testTrainedModelExportsToTheReferenceStructure() throws {
        let f = try SmallStepFixture()
        let trainer = try Trainer(weights: try SmallStepFixture.startingWeights(),
                                  config: TrainingConfig(loss: .noise2Same(lambda: f.lambda), replacement: .donut))
        try trainer.step(batch: f.trainingBatch)
        let trained = trainer.weights

        let dir = try Fixtures.temporaryDirectory("n2sp-export")
        defer { try? FileManager.default.removeItem(at: dir) }
        let prefix = dir.appendingPathComponent("model.ckpt-4").path
        try CheckpointWriter.write(trained, prefix: prefix)
        let back = try ModelWeights.importCheckpoint(at: prefix, keepOptimizerState: true)
        XCTAssertEqual(back.parameters, trained.parameters)
        XCTAssertEqual(back.adam, trained.adam)
        XCTAssertEqual(back.globalStep, 4)

        let bundle = try CheckpointBundle(path: prefix)
        let ours = bundle.entries.map { "\($0.name) \($0.shape)" }.sorted()
        let reference = try JSONSerialization.jsonObject(
            with: Data(contentsOf: Fixtures.fixture("tf-ckpt-small/variables.json"))) as! [[String: Any]]
        let expected = reference.map { "\($0["name"] as! String) \($0["shape"] as! [Int])" }.sorted()
        XCTAssertEqual(ours, expected)
        XCTAssertEqual(ours.count, 157)
    }
}
