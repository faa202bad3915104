import CheckpointImport
import Denoiser
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

/// A model trained here, handed to the inference engine (batch norm folded, fused buffers), gives the same
/// output as the trainer's own eval-mode forward, so validation losses describe what the daemon will serve.
final class TrainedModelInferenceTests: XCTestCase {
    func testInferenceEngineMatchesEvalModeForward() throws {
        let f = try SmallStepFixture()
        let trainer = try Trainer(weights: try SmallStepFixture.startingWeights(),
                                  config: TrainingConfig(loss: .noise2SamePro, replacement: .donut))
        for _ in 0..<3 { try trainer.step(batch: f.trainingBatch) }
        let input = Tensor(shape: TensorShape(batch: 4, height: 64, width: 64, channels: 1), values: f.features)
        let ours = trainer.inferenceForward(input)
        let engine = try InferenceEngine(weights: trainer.weights).forward(input)
        let error = Compare.maxAbsOverMaxRef(engine.values, ours.values)
        print(String(format: "trained model: InferenceEngine vs eval-mode forward max err / max %.2e", error))
        XCTAssertLessThanOrEqual(error, 1e-4)
    }
}
