import CheckpointImport
@testable import Denoiser
import TestSupport
import XCTest

final class ReflectPaddingTests: XCTestCase {
    /// numpy: np.pad([0,1,2,3], 3, 'reflect') = [3 2 1 0 1 2 3 2 1 0];
    /// np.pad([0,1,2], 5, 'reflect') = [1 0 1 2 1 0 1 2 1 0 1 2 1] (pads longer than the axis keep mirroring).
    func testMatchesNumpyReflect() {
        XCTAssertEqual((-3..<7).map { ReflectPadding.sourceIndex($0, length: 4) }, [3, 2, 1, 0, 1, 2, 3, 2, 1, 0])
        XCTAssertEqual((-5..<8).map { ReflectPadding.sourceIndex($0, length: 3) }, [1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1])
        XCTAssertEqual((-2..<3).map { ReflectPadding.sourceIndex($0, length: 1) }, [0, 0, 0, 0, 0])
    }

    /// Fixture index.json: 75 → rows (2, 3), 61 → columns (1, 2); multiples are not padded.
    func testAmounts() {
        XCTAssertTrue(ReflectPadding.amounts(length: 75, multiple: 8) == (2, 3))
        XCTAssertTrue(ReflectPadding.amounts(length: 61, multiple: 8) == (1, 2))
        XCTAssertTrue(ReflectPadding.amounts(length: 128, multiple: 8) == (0, 0))
        XCTAssertTrue(ReflectPadding.amounts(length: 1, multiple: 8) == (3, 4))
    }
}

final class TilingTests: XCTestCase {
    static func smallEngine(_ options: EngineOptions = .init()) throws -> InferenceEngine {
        try InferenceEngine(weights: ModelWeights.importCheckpoint(at: Fixtures.fixture("tf-ckpt-small").path,
                                                                   keepOptimizerState: false), options: options)
    }

    func testSpansCoverEachPixelOnce() {
        for (length, tile, margin) in [(208, 120, 48), (160, 120, 48), (64, 120, 48), (1000, 104, 48), (120, 104, 48)] {
            let spans = TileLayout.spans(length: length, tile: tile, margin: margin)
            var next = 0
            for s in spans {
                XCTAssertEqual(s.write.lowerBound, next)
                XCTAssertEqual(s.start % 8, 0)
                XCTAssertTrue(s.start + min(tile, length) <= length)
                // written pixels are ≥ margin from any tile edge that is not the image edge
                if s.start > 0 { XCTAssertGreaterThanOrEqual(s.write.lowerBound - s.start, margin) }
                if s.start + tile < length { XCTAssertGreaterThanOrEqual(s.start + tile - s.write.upperBound, margin) }
                next = s.write.upperBound
            }
            XCTAssertEqual(next, length)
        }
    }

    /// The derived margin is an upper bound of what the network really sees: perturb one input pixel and
    /// check that no output further than the margin changes (for every residue mod 2^depth).
    /// Exact reach needs exact arithmetic locality, which im2col has; Winograd mixes a whole input tile into
    /// every transform coordinate, so a perturbation also moves far outputs by rounding noise (cancellation
    /// in floats is not exact) — checked separately below to stay at that level.
    func testMarginBoundsTheImpulseResponse() throws {
        let engine = try Self.smallEngine(EngineOptions(convolutionAlgorithm: .im2colGEMM))
        let margin = engine.receptiveFieldMargin
        XCTAssertEqual(margin, 24)  // the derivation in ReceptiveField.swift, depth 3, blocks [1,1,0]/[1,1]/1
        var rng = TestRandom(seed: 11)
        let side = 160
        let base = Tensor(shape: TensorShape(height: side, width: side, channels: 1), values: rng.values(side * side))
        let ref = try engine.forward(base)
        var observed = 0
        for r in 0..<8 {
            var x = base
            let c = 72 + r
            x[0, c, c, 0] += 10
            let y = try engine.forward(x)
            for py in 0..<side {
                for px in 0..<side where y[0, py, px, 0] != ref[0, py, px, 0] {
                    observed = max(observed, abs(py - c), abs(px - c))
                }
            }
        }
        XCTAssertLessThanOrEqual(observed, margin)
        XCTAssertGreaterThanOrEqual(observed, margin - 4, "margin \(margin) is far from the observed reach \(observed)")
        print("receptive field: derived margin \(margin), observed reach \(observed)")
    }

    /// With Winograd forced, outputs beyond the margin move only by float rounding (≤ 1e-6 × the impulse's
    /// effect), so tiles with that overlap still equal the whole image within the 1e-4 tolerance.
    func testWinogradChangesBeyondTheMarginAreRoundingNoise() throws {
        let engine = try Self.smallEngine(EngineOptions(convolutionAlgorithm: .winogradF4x4))
        let margin = engine.receptiveFieldMargin
        var rng = TestRandom(seed: 11)
        let side = 160
        let base = Tensor(shape: TensorShape(height: side, width: side, channels: 1), values: rng.values(side * side))
        let ref = try engine.forward(base)
        var x = base
        let c = 75
        x[0, c, c, 0] += 10
        let y = try engine.forward(x)
        var inside = 0.0, outside = 0.0
        for py in 0..<side {
            for px in 0..<side {
                let d = Double(abs(y[0, py, px, 0] - ref[0, py, px, 0]))
                if max(abs(py - c), abs(px - c)) <= margin { inside = max(inside, d) } else { outside = max(outside, d) }
            }
        }
        XCTAssertGreaterThan(inside, 0)
        XCTAssertLessThan(outside, 1e-6 * inside)
        print(String(format: "winograd impulse: max change inside margin %.3e, beyond %.3e", inside, outside))
    }

    /// An odd-sized image forced into many tiles (tiles at every border) equals the whole-image result.
    func testTiledEqualsWholeImage() throws {
        var rng = TestRandom(seed: 12)
        let h = 203, w = 157
        let image = FloatImage(height: h, width: w, channels: 2, pixels: rng.values(h * w * 2).map { 100 + 50 * $0 })
        let whole = try Self.smallEngine()
        let (reference, wholeReport) = try whole.predictReporting(image)
        XCTAssertEqual(wholeReport.tilesUsed, 2)  // one pass per colour channel, no tiling
        for options in [EngineOptions(maximumTileSide: 120), EngineOptions(memoryBudget: 3 << 20)] {
            let tiled = try Self.smallEngine(options)
            let (got, report) = try tiled.predictReporting(image)
            XCTAssertGreaterThan(report.tilesPerPass, 4)
            XCTAssertEqual(report.statistics, wholeReport.statistics)
            let err = Compare.maxAbsOverMaxRef(got.pixels, reference.pixels)
            XCTAssertLessThan(err, 1e-4)
            print(String(format: "tiling: %d tiles of %d×%d per pass, max|Δ|/max|ref| = %.2e", report.tilesPerPass,
                         report.tileHeight, report.tileWidth, err))
        }
    }

    /// Each colour channel through a 1-channel model is denoised exactly as that channel alone.
    func testColourChannelsAreIndependent() throws {
        var rng = TestRandom(seed: 13)
        let image = FloatImage(height: 40, width: 33, channels: 3, pixels: rng.values(40 * 33 * 3).map { 128 + 60 * $0 })
        let engine = try Self.smallEngine()
        let out = try engine.predict(image)
        for c in 0..<3 {
            XCTAssertEqual(out.channel(c), try engine.predict(image.channel(c)))
        }
    }

    /// The paper model on a 4096×4096 image: the plan stays within the 1 GiB default budget and, with the
    /// input, output and normalisation buffers, far below 2 GB. (Planned bytes, not a measured RSS: running
    /// the ~37 TFLOP pass takes minutes on this machine.)
    func testPaperModelPlanFor4096Squared() throws {
        let engine = try InferenceEngine(weights: .glorotInitialized(.paper))
        let layout = engine.tileLayout(height: 4096, width: 4096)
        let shape = TensorShape(height: layout.tileHeight, width: layout.tileWidth, channels: 1)
        let ws = engine.workspaceBytes(for: shape)
        // deeper levels live inside level 1's temporaries: 4·96 + 2 floats per pixel + scratch
        XCTAssertTrue(InferenceWorkspace.plan(engine.layers, shape: shape, chunkBytes: engine.options.im2colChunkBytes).overlaid)
        XCTAssertLessThan(ws, shape.pixelCount * 386 * 4 + (64 << 20))
        XCTAssertLessThanOrEqual(ws, 1 << 30)
        let imageBuffers = 2 * 4096 * 4096 * 4  // FloatImage in + out
        XCTAssertLessThan(ws + imageBuffers, 1_500_000_000)
        print("4096²: \(layout.tileCount) tiles of \(layout.tileHeight)×\(layout.tileWidth), workspace \(ws >> 20) MiB")
    }
}
