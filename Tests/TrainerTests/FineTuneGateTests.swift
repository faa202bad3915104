import XCTest
@testable import Trainer

/// Why the fine-tuning gate compares models with Noise2Same (fixed λ) and not with the Noise2SamePro loss it
/// trains: derived by hand on a toy signal, then the λ lookup from a model's training metadata.
final class FineTuneGateTests: XCTestCase {
    /// Clean signal 0, noise ±1 (σ² = 1 exactly), every 4th pixel masked. Two candidate networks:
    /// * denoiser: outputs 0 in both passes → rec = mean(x²) = 1, inv = 0;
    /// * identity: unmasked pass returns x, masked pass 0 (the masked pixel is hidden) → rec = 0, inv = 1.
    /// Noise2SamePro = rec + 2·√rec·√inv: denoiser 1, identity 0 → it prefers the identity (the collapse seen
    /// when the default-model run entered its Noise2SamePro phase). Noise2Same λ = 2: denoiser 1, identity
    /// 0 + 2·√1 = 2 → it prefers the denoiser, so a collapsing candidate is rejected.
    func testNoise2SameGatePrefersTheDenoiserWhereNoise2SameProPrefersTheIdentity() {
        let n = 64
        let x = (0..<n).map { $0 % 2 == 0 ? Float(1) : Float(-1) }
        let mask = (0..<n).map { $0 % 4 == 0 ? Float(1) : Float(0) }
        let zeros = [Float](repeating: 0, count: n)
        func total(_ kind: LossKind, raw: [Float], masked: [Float]) -> Double {
            SelfSupervisedLoss.evaluate(kind: kind, features: x, mask: mask, rawPredictions: raw, maskedPredictions: masked)
                .losses.total
        }
        XCTAssertEqual(total(.noise2SamePro, raw: zeros, masked: zeros), 1, accuracy: 1e-12)
        XCTAssertEqual(total(.noise2SamePro, raw: x, masked: zeros), 0, accuracy: 1e-12)
        XCTAssertEqual(total(.noise2Same(lambda: 2), raw: zeros, masked: zeros), 1, accuracy: 1e-12)
        XCTAssertEqual(total(.noise2Same(lambda: 2), raw: x, masked: zeros), 2, accuracy: 1e-6)
        XCTAssertEqual(total(.noise2Same(lambda: 0.95), raw: x, masked: zeros), 0.95, accuracy: 1e-6)
    }

    func testGateUsesTheLambdaOfTheModelsTrainingPlan() {
        let plan = #"{"batchSize":16,"lambda":0.95,"masking":"donut","totalSteps":6000}"#
        XCTAssertEqual(LossKind.gate(forModelTrainedWith: ["training.plan": plan]), .noise2Same(lambda: 0.95))
        XCTAssertEqual(LossKind.gate(forModelTrainedWith: [:]), .noise2Same(lambda: 2))
        XCTAssertEqual(LossKind.gate(forModelTrainedWith: ["training.plan": "not json"]), .noise2Same(lambda: 2))
        XCTAssertEqual(LossKind.gate(forModelTrainedWith: ["training.plan": #"{"lambda":0}"#]), .noise2Same(lambda: 2))
    }
}
