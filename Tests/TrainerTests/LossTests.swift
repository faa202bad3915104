import Foundation
import TestSupport
import Trainer
import XCTest

final class LossTests: XCTestCase {
    func testLossValuesMatchFixture() throws {
        let f = try SmallStepFixture()
        let result = SelfSupervisedLoss.evaluate(
            kind: .noise2Same(lambda: f.lambda), features: f.features, mask: f.mask,
            rawPredictions: f.rawPredictions, maskedPredictions: f.maskedPredictions)
        for (got, key) in [(result.losses.reconstruction, "reconstruction"), (result.losses.invariance, "invariance"),
                           (result.losses.blindSpot, "blind_spot"), (result.losses.total, "total")] {
            let ref = f.loss(key)
            XCTAssertLessThanOrEqual(abs(got - ref) / abs(ref), 1e-4, "\(key): \(got) vs \(ref)")
        }
    }

    /// Loss gradients against central finite differences of the loss itself (in Double), both losses.
    func testGradientsMatchFiniteDifferences() {
        var rng = TrainingRandom(seed: 3)
        let n = 300
        let x = (0..<n).map { _ in Float(rng.gaussian()) }
        let r = (0..<n).map { _ in Float(rng.gaussian()) }
        let p = (0..<n).map { _ in Float(rng.gaussian()) }
        let m = (0..<n).map { _ in Float(rng.uniform() < 0.2 ? 1 : 0) }
        for kind in [LossKind.noise2Same(lambda: 2), .noise2SamePro] {
            let eval = SelfSupervisedLoss.evaluate(kind: kind, features: x, mask: m, rawPredictions: r, maskedPredictions: p)
            func total(_ r: [Float], _ p: [Float]) -> Double {
                SelfSupervisedLoss.evaluate(kind: kind, features: x, mask: m, rawPredictions: r, maskedPredictions: p).losses.total
            }
            let h: Float = 1e-2
            for i in stride(from: 0, to: n, by: 7) {
                var rp = r, rm = r
                rp[i] += h
                rm[i] -= h
                let numericRaw = (total(rp, p) - total(rm, p)) / Double(2 * h)
                XCTAssertEqual(Double(eval.gradientRaw[i]), numericRaw, accuracy: 1e-4 + 1e-3 * abs(numericRaw), "\(kind) raw[\(i)]")
                var pp = p, pm = p
                pp[i] += h
                pm[i] -= h
                let numericMasked = (total(r, pp) - total(r, pm)) / Double(2 * h)
                XCTAssertEqual(Double(eval.gradientMasked[i]), numericMasked, accuracy: 1e-4 + 1e-3 * abs(numericMasked),
                               "\(kind) masked[\(i)]")
            }
        }
    }

    func testZeroInvarianceGivesFiniteGradients() {
        let x: [Float] = [0, 1, 2, 3], r: [Float] = [0.5, 1, 2, 3], m: [Float] = [1, 0, 0, 0]
        for kind in [LossKind.noise2Same(lambda: 2), .noise2SamePro] {
            let e = SelfSupervisedLoss.evaluate(kind: kind, features: x, mask: m, rawPredictions: r, maskedPredictions: r)
            XCTAssertEqual(e.losses.invariance, 0)
            XCTAssertTrue(e.gradientRaw.allSatisfy { $0.isFinite } && e.gradientMasked.allSatisfy { $0.isFinite })
        }
    }

    func testLearningRateScheduleIsStaircase() {
        let s = LearningRateSchedule()
        XCTAssertEqual(s.learningRate(atStep: 0), Float(4e-4))
        XCTAssertEqual(s.learningRate(atStep: 4999), Float(4e-4))
        XCTAssertEqual(s.learningRate(atStep: 5000), Float(2e-4))
        XCTAssertEqual(s.learningRate(atStep: 80000), Float(4e-4) / 65536)
    }
}
