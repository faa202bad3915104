import CheckpointImport
import Foundation
import TestSupport
import Trainer

/// Loads `shared/fixtures/small-step` (one Noise2Same step of `tf-ckpt-small`, README there) for the tests.
struct SmallStepFixture {
    let index: [String: Any]
    let features: [Float]
    let mask: [Float]
    let donutReplacement: [Float]
    let maskedFeatures: [Float]
    let maskedPredictions: [Float]
    let rawPredictions: [Float]
    static let batch = 4, size = 64

    init() throws {
        let dir = "small-step/"
        index = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.fixture(dir + "index.json"))) as! [String: Any]
        features = try Fixtures.readFloat32(Fixtures.fixture(dir + "features.f32"))
        mask = try Fixtures.readFloat32(Fixtures.fixture(dir + "mask.f32"))
        donutReplacement = try Fixtures.readFloat32(Fixtures.fixture(dir + "donut_replacement.f32"))
        maskedFeatures = try Fixtures.readFloat32(Fixtures.fixture(dir + "masked_features.f32"))
        maskedPredictions = try Fixtures.readFloat32(Fixtures.fixture(dir + "preds_masked.f32"))
        rawPredictions = try Fixtures.readFloat32(Fixtures.fixture(dir + "rawpreds.f32"))
    }

    var trainStep: [String: Any] { index["train_step"] as! [String: Any] }

    /// Loss value from index.json (`reconstruction`, `invariance`, `blind_spot`, `total`).
    func loss(_ key: String) -> Double {
        ((trainStep["losses"] as! [String: Any])[key] as! [String: Any])["value"] as! Double
    }

    var lambda: Float { Float((index["model_kwargs"] as! [String: Any])["lmbd"] as! Double) }

    /// The starting checkpoint with Adam state and global step.
    static func startingWeights() throws -> ModelWeights {
        try ModelWeights.importCheckpoint(at: Fixtures.fixture("tf-ckpt-small/model.ckpt-3").path, keepOptimizerState: true)
    }

    static func fileName(_ tfName: String) -> String { tfName.replacingOccurrences(of: "/", with: "__") }

    func gradient(_ name: String) throws -> [Float] {
        try Fixtures.readFloat32(Fixtures.fixture("small-step/grads/\(Self.fileName(name)).f32"))
    }

    func postStep(_ name: String) throws -> [Float] {
        try Fixtures.readFloat32(Fixtures.fixture("small-step/post_step/\(Self.fileName(name)).f32"))
    }

    func postStepGlobalStep() throws -> Int64 {
        let data = try Data(contentsOf: Fixtures.fixture("small-step/post_step/global_step.i64"))
        return data.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
    }

    /// bn_batch_stats/<pass>__<layer>__{mean,var_unbiased}.f32
    func batchStatistics(pass: String, layer: String) throws -> (mean: [Float], variance: [Float]) {
        let base = "small-step/bn_batch_stats/\(pass)__\(Self.fileName(layer))__"
        return (try Fixtures.readFloat32(Fixtures.fixture(base + "mean.f32")),
                try Fixtures.readFloat32(Fixtures.fixture(base + "var_unbiased.f32")))
    }

    var trainingBatch: TrainingBatch {
        TrainingBatch(batch: Self.batch, height: Self.size, width: Self.size, channels: 1, features: features, mask: mask)
    }

    /// The two transposed-conv biases whose true gradient is exactly zero (see the fixture README).
    static func isZeroGradientBias(_ name: String) -> Bool {
        name.contains("upsampling/transposed_convolution/bias")
    }
}
