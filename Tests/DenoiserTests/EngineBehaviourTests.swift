import CheckpointImport
@testable import Denoiser
import XCTest

final class EngineBehaviourTests: XCTestCase {
    /// A 3-channel model (the reference's ImageNet set-up) normalises each channel with its own statistics
    /// and runs the channels through the network together. Checked against the pipeline spelled out by hand:
    /// per-channel numpy-style mean/std, (x − mean)/std, reflect pad, forward, crop, y·std + mean.
    func testThreeChannelModelNormalisesPerChannel() throws {
        let arch = ModelArchitecture(depth: 2, baseFilters: 4, inputChannels: 3)
        let engine = try InferenceEngine(weights: .glorotInitialized(arch, seed: 5))
        var rng = TestRandom(seed: 31)
        let h = 13, w = 10
        var pixels = rng.values(h * w * 3)
        for i in 0..<pixels.count { pixels[i] = pixels[i] * Float(10 * (i % 3 + 1)) + Float(50 * (i % 3)) }
        let image = FloatImage(height: h, width: w, channels: 3, pixels: pixels)
        let (out, report) = try engine.predictReporting(image)
        XCTAssertEqual(report.passes, 1)
        XCTAssertEqual(report.statistics.count, 3)

        // by hand: pad 13 → 16 (1 before, 2 after), 10 → 12 (1, 1)
        var stats: [(Float, Float)] = []
        for c in 0..<3 {
            let plane = (0..<(h * w)).map { pixels[$0 * 3 + c] }
            let stat = plane.withUnsafeBufferPointer { ChannelStatistics.measure($0.baseAddress!, count: h * w, stride: 1) }
            stats.append((stat.mean, stat.std))
            XCTAssertEqual(report.statistics[c], stat)
        }
        func reflect(_ i: Int, _ n: Int) -> Int { i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i) }
        var input = Tensor(shape: TensorShape(height: 16, width: 12, channels: 3))
        for y in 0..<16 { for x in 0..<12 { for c in 0..<3 {
            input[0, y, x, c] = (pixels[(reflect(y - 1, h) * w + reflect(x - 1, w)) * 3 + c] - stats[c].0) / stats[c].1
        } } }
        let net = try engine.forward(input)
        for y in 0..<h { for x in 0..<w { for c in 0..<3 {
            XCTAssertEqual(out.pixels[(y * w + x) * 3 + c], net[0, y + 1, x + 1, c] * stats[c].1 + stats[c].0, accuracy: 1e-4)
        } } }
    }

    func testErrorsNameTheProblem() throws {
        let gray = try InferenceEngine(weights: .glorotInitialized(ModelArchitecture(depth: 2, baseFilters: 2)))
        XCTAssertThrowsError(try gray.forward(Tensor(shape: TensorShape(height: 6, width: 8, channels: 1)))) {
            XCTAssertTrue("\($0)".contains("multiples of 4"), "\($0)")
        }
        XCTAssertThrowsError(try gray.predict(FloatImage(height: 0, width: 3, channels: 1, pixels: [])))
        let rgb = try InferenceEngine(weights: .glorotInitialized(ModelArchitecture(depth: 2, baseFilters: 2, inputChannels: 3)))
        XCTAssertThrowsError(try rgb.predict(FloatImage(height: 4, width: 4, channels: 1))) {
            XCTAssertEqual($0 as? InferenceError, .channelMismatch(modelChannels: 3, imageChannels: 1))
        }
        var weights = ModelWeights.glorotInitialized(ModelArchitecture(depth: 2, baseFilters: 2))
        weights.parameters["main_unet/out_conv/kernel"] = nil
        XCTAssertThrowsError(try InferenceEngine(weights: weights)) {
            XCTAssertTrue("\($0)".contains("main_unet/out_conv/kernel"), "\($0)")
        }
    }

    /// A constant image has std 0: we use std 1 instead of producing NaNs (the reference would divide by 0).
    func testConstantImageStaysFinite() throws {
        let engine = try InferenceEngine(weights: .glorotInitialized(ModelArchitecture(depth: 2, baseFilters: 2)))
        let out = try engine.predict(FloatImage(height: 5, width: 7, channels: 1, repeating: 42))
        XCTAssertTrue(out.pixels.allSatisfy(\.isFinite))
    }

    func testProgressAndCancellation() throws {
        let engine = try InferenceEngine(weights: .glorotInitialized(ModelArchitecture(depth: 2, baseFilters: 2)),
                                         options: EngineOptions(maximumTileSide: 40))
        let image = FloatImage(height: 90, width: 70, channels: 2, pixels: (0..<(90 * 70 * 2)).map { Float($0 % 17) })
        var calls: [(Int, Int)] = []
        let (_, report) = try engine.predictReporting(image) { calls.append(($0, $1)); return true }
        XCTAssertEqual(calls.count, report.tilesUsed)
        XCTAssertEqual(calls.last?.0, calls.last?.1)
        XCTAssertGreaterThan(report.tilesPerPass, 1)
        XCTAssertThrowsError(try engine.predictReporting(image) { done, _ in done < 2 }) {
            XCTAssertEqual($0 as? InferenceError, .cancelled)
        }
    }

    /// Degenerate sizes: reflect padding of a 1-pixel axis repeats that pixel; the output keeps the shape.
    func testTinyImages() throws {
        let engine = try InferenceEngine(weights: .glorotInitialized(ModelArchitecture(depth: 3, baseFilters: 2), seed: 4))
        for (h, w) in [(1, 1), (1, 50), (3, 2), (9, 1)] {
            let image = FloatImage(height: h, width: w, channels: 1, pixels: (0..<(h * w)).map { Float($0 * 7 % 11) })
            let (out, report) = try engine.predictReporting(image)
            XCTAssertEqual([out.height, out.width, out.channels], [h, w, 1])
            XCTAssertTrue(out.pixels.allSatisfy(\.isFinite))
            XCTAssertEqual(report.paddedHeight % 8, 0)
            XCTAssertEqual(report.paddedWidth % 8, 0)
        }
    }

    /// Shapes change between calls (bigger, then smaller: the smaller plan reuses the bigger memory with
    /// its stale contents); every result equals a fresh engine's.
    func testWorkspaceReuseAcrossShapes() throws {
        let weights = ModelWeights.glorotInitialized(ModelArchitecture(depth: 2, baseFilters: 3), seed: 3)
        let engine = try InferenceEngine(weights: weights)
        var rng = TestRandom(seed: 33)
        let big = Tensor(shape: TensorShape(height: 24, width: 20, channels: 1), values: rng.values(480))
        let small = Tensor(shape: TensorShape(height: 8, width: 12, channels: 1), values: rng.values(96))
        _ = try engine.forward(big)
        let reused = try engine.forward(small)
        XCTAssertEqual(reused, try InferenceEngine(weights: weights).forward(small))
        XCTAssertEqual(try engine.forward(big), try InferenceEngine(weights: weights).forward(big))
    }

    /// Batch > 1 through `forward` equals each image alone.
    func testBatchedForward() throws {
        let engine = try InferenceEngine(weights: .glorotInitialized(ModelArchitecture(depth: 2, baseFilters: 3), seed: 2))
        var rng = TestRandom(seed: 32)
        let a = rng.values(8 * 12), b = rng.values(8 * 12)
        let both = try engine.forward(Tensor(shape: TensorShape(batch: 2, height: 8, width: 12, channels: 1), values: a + b))
        let ya = try engine.forward(Tensor(height: 8, width: 12, channels: 1, values: a))
        let yb = try engine.forward(Tensor(height: 8, width: 12, channels: 1, values: b))
        XCTAssertLessThan(Tensor(shape: both.shape, values: ya.values + yb.values).relativeError(to: both), 1e-6)
    }
}
