import CheckpointImport
import Denoiser
import Foundation
import TestSupport
import Trainer
import XCTest

final class TrainingRunTests: XCTestCase {
    private static let tiny = ModelArchitecture(depth: 3, baseFilters: 4, inputChannels: 1)

    /// A few steps of batch 2 × 16², the last two with Noise2SamePro, no periodic checkpoint.
    private static func twoPhasePlan(totalSteps: Int, seed: UInt64) -> TrainingPlan {
        var plan = TrainingPlan(totalSteps: totalSteps)
        plan.proSteps = 2
        plan.batchSize = 2
        plan.patchSize = 16
        plan.seed = seed
        plan.checkpointEvery = 100
        return plan
    }

    private func bsd68Files(_ count: Int) throws -> [TrainingImageFile] {
        Array(try TrainingImageSource.files(in: Fixtures.data("bsd68-noisy25")).prefix(count))
    }

    func testFolderListingReadsTheFloat32Index() throws {
        let files = try TrainingImageSource.files(in: Fixtures.data("bsd68-noisy25"))
        XCTAssertEqual(files.count, 68)
        let image = try files[0].load()
        XCTAssertEqual(image.height * image.width, 481 * 321)
        let z = image.standardized()
        let mean = z.pixels.reduce(0.0) { $0 + Double($1) } / Double(z.pixels.count)
        let variance = z.pixels.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(z.pixels.count) - mean * mean
        XCTAssertEqual(mean, 0, accuracy: 1e-5)
        XCTAssertEqual(variance, 1, accuracy: 1e-4)
        // The same folder's PNGs decode through ImageCodec.
        let pngs = try TrainingImageSource.files(in: Fixtures.data("bsd68-noisy25/png"))
        XCTAssertEqual(pngs.count, 68)
        XCTAssertEqual(try pngs[0].load().pixelCount, 481 * 321)
    }

    func testDihedralAugmentationsAreTheEightSymmetries() {
        let n = 3
        let patch = (0..<(n * n)).map { Float($0) }
        let variants = Set(DihedralAugmentation.allCases.map { $0.apply(patch, size: n, channels: 1) })
        XCTAssertEqual(variants.count, 8)
        // numpy.rot90([[0,1,2],[3,4,5],[6,7,8]]) = [[2,5,8],[1,4,7],[0,3,6]]
        XCTAssertEqual(DihedralAugmentation(quarterTurns: 1, flipX: false).apply(patch, size: n, channels: 1),
                       [2, 5, 8, 1, 4, 7, 0, 3, 6])
        XCTAssertEqual(DihedralAugmentation(quarterTurns: 0, flipX: true).apply(patch, size: n, channels: 1),
                       [2, 1, 0, 5, 4, 3, 8, 7, 6])
    }

    func testGlorotInitialisationBounds() throws {
        let w = try ModelInitializer.glorotUniform(Self.tiny, seed: 1)
        try w.validate()
        let k = w.parameters["main_unet/encoding_block_1/res_0/convolution_1/kernel"]!
        let limit = Float((6.0 / Double(9 * 8)).squareRoot())
        XCTAssertTrue(k.values.allSatisfy { abs($0) <= limit })
        XCTAssertGreaterThan(k.values.map { abs($0) }.max()!, limit * 0.9)
        XCTAssertEqual(w.parameters["main_unet/unet_out/moving_variance"]!.values, [1, 1, 1, 1])
    }

    /// A real (tiny) run: 4 filters, 32×32 patches of noisy BSD68 images, 30 steps. The self-supervised loss on
    /// a fixed batch (training mode) must drop.
    func testShortRunLowersTheSelfSupervisedLoss() throws {
        let files = try bsd68Files(4)
        var plan = TrainingPlan(totalSteps: 30)
        plan.batchSize = 4
        plan.patchSize = 32
        plan.seed = 11
        plan.learningRate = 3e-3
        plan.checkpointEvery = 1000
        let dir = try Fixtures.temporaryDirectory("n2sp-train")
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("model.safetensors")
        let weights = try ModelInitializer.glorotUniform(Self.tiny, seed: 5)

        let probeSampler = PatchSampler(files: files, patchSize: 32, channels: 1, seed: 999)
        let fixedBatch = try probeSampler.nextBatch(size: 8, noiseSigma: 0.2)
        let before = try Trainer(weights: weights, config: TrainingConfig()).evaluateStep(batch: fixedBatch).losses

        let run = try TrainingRun(weights: weights, plan: plan, training: files, validation: [], output: output)
        var reports: [TrainingProgress] = []
        let summary = try run.run { reports.append($0) }
        XCTAssertEqual(summary.stepsRun, 30)
        XCTAssertEqual(summary.finalStep, 30)
        XCTAssertEqual(reports.last?.checkpoint, output)

        let trained = try ModelWeights.load(from: output.path)
        XCTAssertEqual(trained.globalStep, 30)
        let after = try Trainer(weights: trained, config: TrainingConfig()).evaluateStep(batch: fixedBatch).losses
        print(String(format: "short run: fixed-batch loss %.4f -> %.4f (rec %.4f -> %.4f), %.1f steps/s",
                     before.total, after.total, before.reconstruction, after.reconstruction, reports.last!.stepsPerSecond))
        XCTAssertLessThan(after.total, 0.9 * before.total)
    }

    /// Same seed → same model; and 3 steps + stop + resume + 3 steps = 6 uninterrupted steps, bit for bit,
    /// across the N2S → N2SP phase switch.
    func testResumeIsBitIdenticalToAnUninterruptedRun() throws {
        let files = try bsd68Files(3)
        let plan = Self.twoPhasePlan(totalSteps: 6, seed: 3)
        let dir = try Fixtures.temporaryDirectory("n2sp-resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = try ModelInitializer.glorotUniform(Self.tiny, seed: 9)

        let straightURL = dir.appendingPathComponent("straight.safetensors")
        var phases: [LossKind] = []
        _ = try TrainingRun(weights: weights, plan: plan, training: files, validation: [], output: straightURL)
            .run { phases.append($0.loss) }
        XCTAssertEqual(phases, [.noise2Same(lambda: 2), .noise2Same(lambda: 2), .noise2Same(lambda: 2),
                                .noise2Same(lambda: 2), .noise2SamePro, .noise2SamePro])

        let resumedURL = dir.appendingPathComponent("resumed.safetensors")
        let first = try TrainingRun(weights: weights, plan: plan, training: files, validation: [], output: resumedURL)
        let partial = try first.run { if $0.completedSteps == 3 { first.stop.request() } }
        XCTAssertTrue(partial.stoppedEarly)
        XCTAssertEqual(try ModelWeights.load(from: resumedURL.path).globalStep, 3)
        let summary = try TrainingRun.resume(from: resumedURL, training: files, validation: []).run()
        XCTAssertEqual(summary.stepsRun, 3)

        let a = try ModelWeights.load(from: straightURL.path), b = try ModelWeights.load(from: resumedURL.path)
        XCTAssertEqual(a.globalStep, 6)
        XCTAssertEqual(a.parameters, b.parameters)
        XCTAssertEqual(a.adam, b.adam)
    }

    /// `--keep-phase-one`: the copy taken when the Noise2Same phase ends is exactly the model a run without
    /// a Pro phase (same seed, same schedule) ends with, and records the Noise2Same loss it was trained with.
    func testPhaseOneCopyIsTheModelOfTheNoise2SamePhase() throws {
        let files = try bsd68Files(3)
        let plan = Self.twoPhasePlan(totalSteps: 5, seed: 4)
        let dir = try Fixtures.temporaryDirectory("n2sp-phase-one")
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = try ModelInitializer.glorotUniform(Self.tiny, seed: 5)

        let twoPhase = try TrainingRun(weights: weights, plan: plan, training: files, validation: [],
                                       output: dir.appendingPathComponent("two-phase.safetensors"))
        let phaseOneURL = dir.appendingPathComponent("phase-one.safetensors")
        twoPhase.phaseOneOutput = phaseOneURL
        _ = try twoPhase.run()

        var n2sOnly = plan
        n2sOnly.totalSteps = 3
        n2sOnly.proSteps = 0
        let onlyURL = dir.appendingPathComponent("n2s-only.safetensors")
        _ = try TrainingRun(weights: weights, plan: n2sOnly, training: files, validation: [], output: onlyURL).run()

        let phaseOne = try ModelWeights.load(from: phaseOneURL.path), only = try ModelWeights.load(from: onlyURL.path)
        XCTAssertEqual(phaseOne.globalStep, 3)
        XCTAssertEqual(phaseOne.parameters, only.parameters)
        XCTAssertEqual(phaseOne.adam, only.adam)
        XCTAssertEqual(phaseOne.metadata["training.loss"], "\(LossKind.noise2Same(lambda: 2))")
        XCTAssertEqual(try ModelWeights.load(from: dir.appendingPathComponent("two-phase.safetensors").path).globalStep, 5)
    }

    func testValidationLossIsDeterministicAndFineTuneReportsBeforeAfter() throws {
        let weights = try ModelInitializer.glorotUniform(Self.tiny, seed: 2)
        let images = try bsd68Files(2).map { try $0.load() }
        let trainer = try Trainer(weights: weights, config: TrainingConfig(loss: .noise2SamePro))
        let v1 = try trainer.validationLoss(images: images), v2 = try trainer.validationLoss(images: images)
        XCTAssertEqual(v1, v2)
        XCTAssertTrue(v1.total.isFinite && v1.total > 0)

        let pool = try TrainingImageSource.files(in: Fixtures.data("bsd68-noisy25/png")).prefix(2).map(\.url)
        var options = FineTune.Options(steps: 3)
        options.patchSize = 32
        options.batchSize = 2
        let result = try FineTune.run(from: weights, pool: Array(pool), options: options)
        XCTAssertEqual(result.stepsRun, 3)
        XCTAssertEqual(result.weights.globalStep, 3)
        XCTAssertTrue(result.before.isFinite && result.after.isFinite)
    }
}
