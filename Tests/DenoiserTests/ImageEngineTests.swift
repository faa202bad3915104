import CheckpointImport
import Foundation
import TestSupport
import XCTest

import Denoiser

/// The file pipeline with the real `InferenceEngine` and the real fixture checkpoint (`tf-ckpt-small`, a
/// 3-step model: its outputs are not pretty, but they must be produced and must equal the engine's).
final class ImageEngineTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try Fixtures.temporaryDirectory("n2spd-image-engine")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func fixtureEngine(_ options: EngineOptions = .init(threads: 2)) throws -> InferenceEngine {
        let weights = try ModelWeights.load(from: Fixtures.fixture("tf-ckpt-small").path)
        return try InferenceEngine(weights: weights, options: options)
    }

    /// Set12 PNG → the written file holds exactly clip-and-round of `predict` on its pixels, and the
    /// provenance records the image's own mean/std (checked against a float64 computation here).
    func testFixtureCheckpointDenoisesPNG() throws {
        let engine = try fixtureEngine()
        let input = Fixtures.data("Set12/01.png")
        let result = try ImageDenoisingPipeline(denoiser: engine).process(input, into: dir)
        let source = try ImageCodec.read(input)
        let expected = source.replacingColor(with: try engine.predict(source.floatImage()))
        let written = try ImageCodec.read(result.output)
        XCTAssertEqual(written, expected)
        XCTAssertNotEqual(written.samples, source.samples, "the model must have changed the image")

        let values = (0..<source.samples.count).map { Double(source.samples[$0]) }
        let mean = values.reduce(0, +) / Double(values.count)
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        XCTAssertEqual(result.normalization.count, 1)
        XCTAssertEqual(result.normalization[0].mean, mean, accuracy: 1e-3)
        XCTAssertEqual(result.normalization[0].std, std, accuracy: 1e-3)
        XCTAssertEqual(result.provenance["n2sp.tiling"], "whole image (256x256 padded)")
    }

    /// RGBA 16-bit at an odd size through a 1-channel model: each colour channel denoised on its own
    /// (three statistics), alpha untouched, 16-bit kept; also forced into many tiles.
    func testRGBA16OddSizeThroughGrayModel() throws {
        let planes = try ["04", "05", "06"].map { try ImageCodec.read(Fixtures.data("Set12/\($0).png")) }
        let (w, h) = (61, 75)
        var rgb = [UInt16](repeating: 0, count: w * h * 3)
        for y in 0..<h { for x in 0..<w { for c in 0..<3 { rgb[(y * w + x) * 3 + c] = UInt16(planes[c].samples[y * 256 + x]) * 257 } } }
        let alpha = (0..<(w * h)).map { UInt16(($0 * 977) % 65536) }
        let image = DecodedImage(format: .png, width: w, height: h, colorChannels: 3, samples: .uint16(rgb), alpha: .uint16(alpha))
        let input = dir.appendingPathComponent("rgba16.png")
        try ImageCodec.write(image, to: input, options: .init(fsync: false))
        let outDir = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)

        let engine = try fixtureEngine(EngineOptions(threads: 2, maximumTileSide: 32))
        let ticks = UnsafeSendableBox<[Int]>([])
        let result = try ImageDenoisingPipeline(denoiser: engine).process(input, into: outDir) { done, total in
            ticks.mutate { $0.append(total - done) }
            return true
        }
        XCTAssertGreaterThan(ticks.value.count, 3, "per-tile progress from the engine")
        XCTAssertEqual(ticks.value.last, 0)
        let written = try ImageCodec.read(result.output)
        XCTAssertEqual(written.bitDepth, 16)
        XCTAssertEqual(written.alpha, image.alpha)
        XCTAssertEqual(result.normalization.count, 3)
        XCTAssertTrue(result.provenance["n2sp.tiling"]?.contains("tiles") ?? false, "\(result.provenance)")
        // Channel independence: channel k of the file equals the model run on plane k alone.
        let float = image.floatImage()
        for k in 0..<3 {
            let alone = DecodedImage.quantize(try engine.predict(float.channel(k)).pixels, bitDepth: 16)
            for i in 0..<(w * h) { XCTAssertEqual(written.samples[i * 3 + k], alone[i], "channel \(k) pixel \(i)") }
        }
    }

    /// RGB JPEG in → RGB JPEG out; its pixels are the engine's result up to JPEG q95 loss.
    func testRGBJPEG() throws {
        let planes = try ["07", "02", "03"].map { try ImageCodec.read(Fixtures.data("Set12/\($0).png")) }
        var rgb = [UInt8](repeating: 0, count: 256 * 256 * 3)
        for i in 0..<(256 * 256) { for c in 0..<3 { rgb[i * 3 + c] = UInt8(planes[c].samples[i]) } }
        let input = dir.appendingPathComponent("colour.jpeg")
        try ImageCodec.write(DecodedImage(format: .jpeg, width: 256, height: 256, colorChannels: 3, samples: .uint8(rgb)),
                             to: input, options: .init(fsync: false))
        let outDir = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        let engine = try fixtureEngine()
        let result = try ImageDenoisingPipeline(denoiser: engine).process(input, into: outDir)
        XCTAssertEqual(result.output.lastPathComponent, "colour-denoised.jpeg")
        let written = try ImageCodec.read(result.output)
        XCTAssertEqual([written.colorChannels, written.bitDepth], [3, 8])
        let decodedInput = try ImageCodec.read(input)
        let expected = decodedInput.replacingColor(with: try engine.predict(decodedInput.floatImage()))
        let psnr = ImageTestFiles.psnr(ImageTestFiles.bytes(of: written.samples), ImageTestFiles.bytes(of: expected.samples))
        XCTAssertGreaterThan(psnr, ImageCodecTests.jpegPSNRBound(quality: 95, color: true), "PSNR \(psnr) dB")
    }

    /// Our JPEG decoder gives the same pixels as libjpeg-turbo's own `djpeg` (accurate integer IDCT).
    /// Needs `djpeg` (Debian libjpeg-turbo-progs); skipped where it is not installed.
    func testJPEGDecodeMatchesDjpeg() throws {
        let djpeg = "/usr/bin/djpeg"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: djpeg), "djpeg not installed")
        var image = try ImageCodec.read(Fixtures.data("Set12/09.png"))
        image.format = .jpeg
        let url = dir.appendingPathComponent("b.jpg")
        try ImageCodec.write(image, to: url, options: .init(jpegQuality: 80, fsync: false))
        let ppm = dir.appendingPathComponent("b.pgm")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: djpeg)
        process.arguments = ["-dct", "int", "-pnm", "-outfile", ppm.path, url.path]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let bytes = Array(try Data(contentsOf: ppm))
        let pixels = Array(bytes.suffix(512 * 512))  // P5 header, then 512×512 bytes
        XCTAssertEqual(ImageTestFiles.bytes(of: try ImageCodec.read(url).samples), pixels)
    }
}
