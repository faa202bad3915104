import Foundation
import TestSupport
import Trainer
import XCTest

final class MaskingTests: XCTestCase {
    func testBoxSizeForTheReferenceDefault() {
        XCTAssertEqual(StratifiedMask.boxSize(maskPercent: 0.5), 14)
        XCTAssertEqual(StratifiedMask.boxSize(maskPercent: 1), 10)
    }

    func testOnePixelPerBoxAndOutsideDrawsDropped() {
        var rng = TrainingRandom(seed: 7)
        let h = 64, w = 64, c = 2
        var mask = [Float](repeating: 0, count: h * w * c)
        var total = 0
        for _ in 0..<50 {
            let count = mask.withUnsafeMutableBufferPointer {
                StratifiedMask.fill($0, height: h, width: w, channels: c, box: 14, random: &rng)
            }
            XCTAssertEqual(count, mask.reduce(0) { $0 + Int($1) })
            for ch in 0..<c {
                for bi in 0..<5 {
                    for bj in 0..<5 {
                        var inBox = 0
                        for y in (bi * 14)..<min(bi * 14 + 14, h) {
                            for x in (bj * 14)..<min(bj * 14 + 14, w) where mask[(y * w + x) * c + ch] == 1 { inBox += 1 }
                        }
                        // Full boxes always get their pixel; edge boxes (8 of 14 rows/cols inside) sometimes not.
                        if bi < 4 && bj < 4 { XCTAssertEqual(inBox, 1) } else { XCTAssertLessThanOrEqual(inBox, 1) }
                    }
                }
            }
            total += count
        }
        // Expected (64/14)² ≈ 20.9 per channel.
        let perChannel = Double(total) / Double(50 * c)
        XCTAssertEqual(perChannel, 4096.0 / 196.0, accuracy: 1.0)
    }

    func testFixtureMaskIsStratified() throws {
        let f = try SmallStepFixture()
        for n in 0..<4 {
            var count = 0
            for bi in 0..<5 {
                for bj in 0..<5 {
                    var inBox = 0
                    for y in (bi * 14)..<min(bi * 14 + 14, 64) {
                        for x in (bj * 14)..<min(bj * 14 + 14, 64) where f.mask[(n * 64 + y) * 64 + x] == 1 { inBox += 1 }
                    }
                    XCTAssertLessThanOrEqual(inBox, 1)
                    count += inBox
                }
            }
            XCTAssertGreaterThanOrEqual(count, 16)
        }
    }

    func testDonutReplacementMatchesFixture() throws {
        let f = try SmallStepFixture()
        var donut = [Float](repeating: 0, count: f.features.count)
        f.features.withUnsafeBufferPointer { x in
            donut.withUnsafeMutableBufferPointer { out in
                MaskReplacement.donut(x, into: out, batch: 4, height: 64, width: 64, channels: 1)
            }
        }
        let err = Compare.maxAbsOverMaxRef(donut, f.donutReplacement)
        XCTAssertLessThanOrEqual(err, 1e-6, "donut replacement max err / max ref = \(err)")
        let masked = MaskReplacement.apply(features: f.features, mask: f.mask, replacement: donut)
        XCTAssertLessThanOrEqual(Compare.maxAbsOverMaxRef(masked, f.maskedFeatures), 1e-6)
    }

    func testRandomIsDeterministicAndGaussianHasUnitMoments() {
        var a = TrainingRandom(seed: 42), b = TrainingRandom(seed: 42)
        XCTAssertEqual((0..<10).map { _ in a.next() }, (0..<10).map { _ in b.next() })
        var r = TrainingRandom(seed: 1)
        let n = 200_000
        var sum = 0.0, sumSq = 0.0
        for _ in 0..<n {
            let g = r.gaussian()
            sum += g
            sumSq += g * g
        }
        XCTAssertEqual(sum / Double(n), 0, accuracy: 0.01)
        XCTAssertEqual(sumSq / Double(n), 1, accuracy: 0.01)
        let restored = TrainingRandom(stateWords: a.stateWords)!
        var a2 = restored
        XCTAssertEqual(a.next(), a2.next())
    }

    /// Fine-tuning continues with the masking a model was trained with: `n2sp train` records it as
    /// `training.masking`; imported TF checkpoints have no entry and get the reference default.
    func testFineTuningReplacementFollowsTheModelsTrainingMetadata() {
        XCTAssertEqual(MaskReplacement.trainedWith(["training.masking": "donut"]), .donut)
        XCTAssertEqual(MaskReplacement.trainedWith(["training.masking": "gaussian"]), .defaultGaussian)
        XCTAssertEqual(MaskReplacement.trainedWith([:]), .gaussian(sigma: 0.2))
        XCTAssertNil(MaskReplacement.donut.samplerNoiseSigma)
        XCTAssertEqual(MaskReplacement.defaultGaussian.samplerNoiseSigma, 0.2)
    }
}
