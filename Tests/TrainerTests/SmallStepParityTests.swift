import CheckpointImport
import Foundation
import TestSupport
import Trainer
import XCTest

/// One Noise2Same step of `tf-ckpt-small` against TensorFlow's recording (`shared/fixtures/small-step`):
/// forward outputs, losses, all 44 gradients, batch statistics and every variable after the Adam step.
final class SmallStepParityTests: XCTestCase {
    private func makeTrainer() throws -> (Trainer, SmallStepFixture, ModelWeights) {
        let fixture = try SmallStepFixture()
        let weights = try SmallStepFixture.startingWeights()
        var config = TrainingConfig(loss: .noise2Same(lambda: fixture.lambda), replacement: .donut)
        config.batchNormEpsilon = 1.001e-5
        return (try Trainer(weights: weights, config: config), fixture, weights)
    }

    func testForwardLossesGradientsAndBatchStatistics() throws {
        let (trainer, f, weights) = try makeTrainer()
        let d = try trainer.evaluateStep(batch: f.trainingBatch)

        let rawErr = Compare.maxAbsOverMaxRef(d.rawPredictions, f.rawPredictions)
        let maskedErr = Compare.maxAbsOverMaxRef(d.maskedPredictions, f.maskedPredictions)
        XCTAssertLessThanOrEqual(rawErr, 1e-4)
        XCTAssertLessThanOrEqual(maskedErr, 1e-4)

        var lossErrors: [String: Double] = [:]
        for (got, key) in [(d.losses.reconstruction, "reconstruction"), (d.losses.invariance, "invariance"),
                           (d.losses.blindSpot, "blind_spot"), (d.losses.total, "total")] {
            let ref = f.loss(key)
            lossErrors[key] = abs(got - ref) / abs(ref)
            XCTAssertLessThanOrEqual(lossErrors[key]!, 1e-4, "\(key): \(got) vs \(ref)")
        }

        let trainable = weights.architecture.parameterSpecs.filter { $0.role.isTrainable }
        XCTAssertEqual(trainable.count, 44)
        XCTAssertEqual(d.gradients.count, 44)
        var worst = (name: "", error: 0.0)
        var worstZeroBias = 0.0
        for spec in trainable {
            let got = try XCTUnwrap(d.gradients[spec.name])
            if SmallStepFixture.isZeroGradientBias(spec.name) {
                let m = got.map { abs(Double($0)) }.max() ?? 0
                worstZeroBias = max(worstZeroBias, m)
                XCTAssertLessThanOrEqual(m, 1e-5, spec.name)
                continue
            }
            let err = Compare.relativeL2(got, try f.gradient(spec.name))
            if err > worst.error { worst = (spec.name, err) }
            XCTAssertLessThanOrEqual(err, 1e-3, "gradient \(spec.name): rel L2 \(err)")
        }

        var worstStat = 0.0
        for (pass, table) in [("masked", d.maskedBatchStatistics), ("raw", d.rawBatchStatistics)] {
            XCTAssertEqual(table.count, 11)
            for (layer, stats) in table {
                let ref = try f.batchStatistics(pass: pass, layer: layer)
                let e = max(Compare.relativeL2(stats.mean, ref.mean), Compare.relativeL2(stats.unbiasedVariance, ref.variance))
                worstStat = max(worstStat, e)
                XCTAssertLessThanOrEqual(e, 1e-4, "\(pass) \(layer)")
            }
        }
        print(String(format: "small-step parity: rawpreds %.2e, preds %.2e (max err / max ref); losses rel rec %.2e inv %.2e bsp %.2e total %.2e; "
                     + "worst gradient rel L2 %.2e (%@); zero-gradient biases max |g| %.2e; worst BN stat rel L2 %.2e",
                     rawErr, maskedErr, lossErrors["reconstruction"]!, lossErrors["invariance"]!, lossErrors["blind_spot"]!,
                     lossErrors["total"]!, worst.error, worst.name, worstZeroBias, worstStat))
    }

    func testFullStepMatchesPostStepState() throws {
        let (trainer, f, before) = try makeTrainer()
        try trainer.step(batch: f.trainingBatch)
        let after = trainer.weights
        XCTAssertEqual(after.globalStep, try f.postStepGlobalStep())
        let adam = try XCTUnwrap(after.adam)
        XCTAssertEqual(adam.beta1Power.bitPattern, try f.postStep("beta1_power")[0].bitPattern)
        XCTAssertEqual(adam.beta2Power.bitPattern, try f.postStep("beta2_power")[0].bitPattern)
        let lrT = Float(7.350685419585684e-05)
        var worstDelta = 0.0, worstMoment = 0.0, worstStat = 0.0
        for spec in before.architecture.parameterSpecs {
            let pre = before.parameters[spec.name]!.values
            let got = after.parameters[spec.name]!.values
            let ref = try f.postStep(spec.name)
            if !spec.role.isTrainable {
                let e = Compare.maxAbs(got, ref)
                worstStat = max(worstStat, e)
                XCTAssertLessThanOrEqual(e, 1e-6, "moving statistic \(spec.name)")
                continue
            }
            if SmallStepFixture.isZeroGradientBias(spec.name) {
                for i in 0..<got.count { XCTAssertLessThanOrEqual(abs(got[i] - pre[i]), 3 * lrT, spec.name) }
                continue
            }
            let e = Compare.relativeL2(zip(got, pre).map { $0 - $1 }, zip(ref, pre).map { $0 - $1 })
            worstDelta = max(worstDelta, e)
            XCTAssertLessThanOrEqual(e, 1e-2, "update of \(spec.name)")
            let m = Compare.relativeL2(adam.firstMoments[spec.name]!.values, try f.postStep(spec.name + "/Adam"))
            let v = Compare.relativeL2(adam.secondMoments[spec.name]!.values, try f.postStep(spec.name + "/Adam_1"))
            worstMoment = max(worstMoment, m, v)
            XCTAssertLessThanOrEqual(max(m, v), 1e-2, "Adam slots of \(spec.name)")
        }
        print(String(format: "small-step post-step: worst (w_post − w_pre) rel L2 %.2e, worst Adam slot rel L2 %.2e, "
                     + "worst moving-stat |err| %.2e", worstDelta, worstMoment, worstStat))
    }

    /// Adam alone, exactly: the fixture's gradients applied to the checkpoint's state must give `post_step/`
    /// (weights, both slots, beta powers, global step) — independent of our forward/backward.
    func testAdamWithFixtureGradientsReproducesPostStep() throws {
        let (trainer, f, before) = try makeTrainer()
        var grads: [String: [Float]] = [:]
        for spec in before.architecture.parameterSpecs where spec.role.isTrainable { grads[spec.name] = try f.gradient(spec.name) }
        try trainer.applyGradients(grads)
        let after = trainer.weights
        XCTAssertEqual(after.globalStep, 4)
        XCTAssertEqual(after.adam!.beta1Power.bitPattern, try f.postStep("beta1_power")[0].bitPattern)
        XCTAssertEqual(after.adam!.beta2Power.bitPattern, try f.postStep("beta2_power")[0].bitPattern)
        var worst = 0.0
        for spec in before.architecture.parameterSpecs where spec.role.isTrainable {
            for (got, file) in [(after.parameters[spec.name]!.values, spec.name), (after.adam!.firstMoments[spec.name]!.values, spec.name + "/Adam"),
                                (after.adam!.secondMoments[spec.name]!.values, spec.name + "/Adam_1")] {
                let e = Compare.maxAbs(got, try f.postStep(file))
                worst = max(worst, e)
                XCTAssertLessThanOrEqual(e, 1e-7, file)
            }
        }
        print(String(format: "Adam from fixture gradients: max |err| over weights and slots %.2e", worst))
    }
}
