import Foundation
import TestSupport
import XCTest

@testable import Denoiser

/// PSNR and SSIM against hand-derived values, the shared data's anchors and an independent numpy SSIM.
final class EvaluationQualityTests: XCTestCase {
    func image(_ h: Int, _ w: Int, _ f: (Int, Int) -> Float) -> FloatImage {
        var px: [Float] = []
        for y in 0..<h { for x in 0..<w { px.append(f(y, x)) } }
        return FloatImage(height: h, width: w, channels: 1, pixels: px)
    }

    func testPSNRHandDerived() {
        let clean = image(4, 5) { y, x in Float(40 * y + x) }
        // Every value off by 5: MSE 25, PSNR = 10·log10(255²/25) = 20·log10(51) = 34.1514 dB.
        let shifted = image(4, 5) { y, x in Float(40 * y + x) + 5 }
        XCTAssertEqual(ImageQuality.meanSquaredError(shifted, clean), 25, accuracy: 1e-12)
        XCTAssertEqual(ImageQuality.psnr(shifted, clean), 34.15140352195873, accuracy: 1e-9)
        XCTAssertEqual(ImageQuality.psnr(clean, clean), .infinity)

        // Clipping / quantization, one value at a time: reference 250, 0, 100, 100.
        let ref = FloatImage(height: 1, width: 4, channels: 1, pixels: [250, 0, 100, 100])
        let pred = FloatImage(height: 1, width: 4, channels: 1, pixels: [262, -3, 100.5, 100.49])
        // raw: (12² + 3² + 0.5² + 0.49²)/4
        XCTAssertEqual(ImageQuality.meanSquaredError(pred, ref), (144 + 9 + 0.25 + Double(Float(100.49) - 100) * Double(Float(100.49) - 100)) / 4, accuracy: 1e-9)
        // clipped: 262→255 (5²), −3→0 (0), others as raw
        XCTAssertEqual(ImageQuality.meanSquaredError(pred, ref, conditioning: .clipped),
                       (25 + 0 + 0.25 + Double(Float(100.49) - 100) * Double(Float(100.49) - 100)) / 4, accuracy: 1e-9)
        // quantized: 255, 0, 100.5→101 (half away from zero), 100.49→100 → (25 + 0 + 1 + 0)/4
        XCTAssertEqual(ImageQuality.meanSquaredError(pred, ref, conditioning: .quantized), 6.5, accuracy: 1e-12)
    }

    func testSSIMHandDerived() {
        let x = image(16, 13) { y, x in Float((y * 7 + x * 13) % 29) * 8 }
        XCTAssertEqual(SSIM()(x, x), 1, accuracy: 1e-12)
        // Constant images a and b: zero variances, so SSIM = (2ab + C1)/(a² + b² + C1) in every window.
        let a = image(12, 12) { _, _ in 100 }, b = image(12, 12) { _, _ in 120 }
        let c1 = (0.01 * 255.0) * (0.01 * 255.0)
        XCTAssertEqual(SSIM()(a, b), (2 * 100 * 120 + c1) / (100 * 100 + 120 * 120 + c1), accuracy: 1e-12)
        // Smaller than the window: undefined.
        XCTAssertTrue(SSIM()(image(10, 30) { _, _ in 1 }, image(10, 30) { _, _ in 1 }).isNaN)
        let taps = SSIM().taps
        XCTAssertEqual(taps.count, 11)
        XCTAssertEqual(taps.reduce(0, +), 1, accuracy: 1e-15)
    }

    /// scripts/ssim_reference.py (numpy, explicit 2-D windows): a 40×48 crop at (100, 200) of BSD68 test001,
    /// noisy float32 input against the clean image (`python3 scripts/ssim_reference.py …/test001.f32 481 321 …/test001.png 100 200 40 48`).
    func testSSIMMatchesNumpyReference() throws {
        let pair = EvaluationPair(
            name: "test001",
            noisy: .float32(Fixtures.data("bsd68-noisy25/f32/test001.f32"), height: 481, width: 321, channels: 1),
            clean: Fixtures.data("BSD68/test001.png"))
        let (noisy, clean) = try pair.load()
        func crop(_ im: FloatImage) -> FloatImage {
            image(40, 48) { y, x in im.pixels[(100 + y) * im.width + 200 + x] }
        }
        XCTAssertEqual(SSIM()(crop(noisy), crop(clean)), 0.5967725850812182, accuracy: 1e-9)
    }

    /// The noisy input's PSNR must reproduce psnr.py's anchors (anchors/results_{f32,png}.json) per image and
    /// in the mean (20.173 dB raw / 20.481 clipped on f32; 20.480 on the 8-bit PNGs).
    func testNoisyInputReproducesBSD68Anchors() throws {
        for (folder, anchorFile) in [("bsd68-noisy25", "results_f32.json"), ("bsd68-noisy25/png", "results_png.json")] {
            let anchors = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.data("anchors/" + anchorFile))) as! [String: Any]
            let noisyRow = (anchors["results"] as! [[String: Any]]).first { $0["set"] as? String == "BSD68" && $0["method"] as? String == "noisy" }!
            let perRaw = noisyRow["per_image_raw"] as! [String: Double]
            let perClip = noisyRow["per_image_clip"] as! [String: Double]
            let dataset = try EvaluationDataset(noisy: Fixtures.data(folder), clean: Fixtures.data("BSD68"))
            XCTAssertEqual(dataset.pairs.count, 68)
            XCTAssertEqual(dataset.unmatched, [])
            var sumRaw = 0.0, sumClip = 0.0
            for pair in dataset.pairs {
                let (noisy, clean) = try pair.load()
                let raw = ImageQuality.psnr(noisy, clean), clip = ImageQuality.psnr(noisy, clean, conditioning: .clipped)
                XCTAssertEqual(raw, perRaw[pair.name]!, accuracy: 1e-9, "\(folder) \(pair.name)")
                XCTAssertEqual(clip, perClip[pair.name]!, accuracy: 1e-9, "\(folder) \(pair.name)")
                sumRaw += raw
                sumClip += clip
            }
            XCTAssertEqual(sumRaw / 68, noisyRow["mean_psnr_raw"] as! Double, accuracy: 1e-9, folder)
            XCTAssertEqual(sumClip / 68, noisyRow["mean_psnr_clip"] as! Double, accuracy: 1e-9, folder)
            if folder == "bsd68-noisy25" { XCTAssertEqual(sumRaw / 68, 20.1727, accuracy: 5e-5, "README: 20.173 dB") }
        }
    }
}
