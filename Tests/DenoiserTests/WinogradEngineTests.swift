import CheckpointImport
@testable import Denoiser
import Foundation
import TestSupport
import XCTest

/// The whole engine with each Winograd variant forced on every 3×3 layer (the small fixture model has 5, 10
/// and 20 channels, below `.automatic`'s threshold at level 1, so `.automatic` alone would not cover it):
/// parity with the TF reference, tiled == whole image, and the paper-size model against im2col.
final class WinogradEngineTests: XCTestCase {
    static let forced: [ConvolutionAlgorithm] = [.winogradF2x2, .winogradF4x4]

    func testNetworkParityWithEachVariant() throws {
        let weights = try EngineParityTests.loadWeights()
        for algorithm in Self.forced + [.automatic] {
            let engine = try InferenceEngine(weights: weights, options: EngineOptions(convolutionAlgorithm: algorithm))
            for name in EngineParityTests.images {
                let dir = "small-inference/\(name)"
                let input = try Fixtures.readFloat32(Fixtures.fixture("\(dir)/normalized_padded_input.f32"))
                let ref = try Fixtures.readFloat32(Fixtures.fixture("\(dir)/network_output_padded.f32"))
                let index = try EngineParityTests.index()
                let meta = try XCTUnwrap(index.images[name])
                let h = meta.height + meta.padding.pad_rows.reduce(0, +), w = meta.width + meta.padding.pad_cols.reduce(0, +)
                let net = try engine.forward(Tensor(shape: TensorShape(height: h, width: w, channels: 1), values: input))
                let err = Compare.maxAbsOverMaxRef(net.values, ref)
                XCTAssertLessThan(err, 1e-4, "\(algorithm) \(name)")
                print(String(format: "winograd parity %@ %@: network max|Δ|/max|ref| = %.2e", algorithm.rawValue, name, err))
            }
        }
    }

    /// Tiles at every border (odd image, many tiles, partial Winograd tiles inside each) equal the whole image.
    func testTiledEqualsWholeImageWithF4() throws {
        var rng = TestRandom(seed: 13)
        let h = 203, w = 157
        let image = FloatImage(height: h, width: w, channels: 1, pixels: rng.values(h * w).map { 100 + 50 * $0 })
        let weights = try EngineParityTests.loadWeights()
        let whole = try InferenceEngine(weights: weights, options: EngineOptions(convolutionAlgorithm: .winogradF4x4))
        let reference = try whole.predict(image)
        let tiled = try InferenceEngine(weights: weights, options: EngineOptions(convolutionAlgorithm: .winogradF4x4,
                                                                                 maximumTileSide: 72))
        let (got, report) = try tiled.predictReporting(image)
        XCTAssertGreaterThan(report.tilesPerPass, 4)
        let err = Compare.maxAbsOverMaxRef(got.pixels, reference.pixels)
        XCTAssertLessThan(err, 1e-4)
        print(String(format: "winograd tiling: %d tiles, max|Δ|/max|ref| = %.2e", report.tilesPerPass, err))
    }

    /// Paper-size network (depth 3, 96 filters) with Glorot weights on a 64×64 input: each variant against
    /// im2col. The network-output tolerance of the fixtures (1e-4 × max) is what this must stay under.
    func testPaperModelAgreesWithIm2col() throws {
        let weights = ModelWeights.glorotInitialized(.paper, seed: 3)
        var rng = TestRandom(seed: 14)
        let x = rng.tensor(1, 64, 64, 1)
        let ref = try InferenceEngine(weights: weights, options: EngineOptions(convolutionAlgorithm: .im2colGEMM)).forward(x)
        for algorithm in Self.forced + [.automatic] {
            let y = try InferenceEngine(weights: weights, options: EngineOptions(convolutionAlgorithm: algorithm)).forward(x)
            let err = y.relativeError(to: ref)
            print(String(format: "paper model 64×64 %@ vs im2col: max|Δ|/max|ref| = %.2e", algorithm.rawValue, err))
            XCTAssertLessThan(err, 1e-4, "\(algorithm)")
        }
    }
}
