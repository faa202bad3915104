import Foundation
import TestSupport
import XCTest

import Denoiser

final class ImagePipelineTests: XCTestCase {
    var inDir: URL!
    var outDir: URL!

    override func setUpWithError() throws {
        inDir = try Fixtures.temporaryDirectory("n2spd-pipe-in")
        outDir = try Fixtures.temporaryDirectory("n2spd-pipe-out")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: inDir)
        try? FileManager.default.removeItem(at: outDir)
    }

    /// A stand-in denoiser: brightens by 10 (so outputs differ from inputs and clipping shows at 255),
    /// records what it was given, and reports made-up statistics.
    final class Recorder: ImageDenoising, @unchecked Sendable {  // used from one thread per test
        var seen: [FloatImage] = []
        func denoise(_ image: FloatImage, progress: DenoisingProgress?) throws -> DenoiserOutput {
            seen.append(image)
            var out = image
            for i in out.pixels.indices { out.pixels[i] += 10 }
            return DenoiserOutput(image: out, normalization: [NormalizationStats(mean: 1.5, std: 2.25)])
        }
    }

    func write(_ image: DecodedImage, _ name: String) throws -> URL {
        let url = inDir.appendingPathComponent(name)
        try ImageCodec.write(image, to: url, options: .init(fsync: false))
        return url
    }

    func outputNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: outDir.path).sorted()
    }

    func testNeverOverwritesAndPicksUniqueNames() throws {
        let input = try write(ImageTestFiles.randomImage(width: 8, height: 8, colorChannels: 1, bitDepth: 8, alpha: false), "a.png")
        let squatter = outDir.appendingPathComponent("a-denoised.png")
        try Data("not mine".utf8).write(to: squatter)
        let recorder = Recorder()
        let pipeline = ImageDenoisingPipeline(denoiser: recorder)

        let first = try pipeline.process(input, into: outDir)
        XCTAssertEqual(first.output.lastPathComponent, "a-denoised-2.png")
        let second = try pipeline.process(input, into: outDir)
        XCTAssertEqual(second.output.lastPathComponent, "a-denoised-3.png")
        XCTAssertEqual(try Data(contentsOf: squatter), Data("not mine".utf8), "an existing file must never be replaced")
        XCTAssertEqual(try outputNames(), ["a-denoised-2.png", "a-denoised-3.png", "a-denoised.png"], "no temp files left")

        // `.fail` refuses instead, and leaves nothing behind.
        var strict = pipeline
        strict.conflictPolicy = .fail
        XCTAssertThrowsError(try strict.process(input, into: outDir)) {
            XCTAssertEqual($0 as? ImageError, .outputExists(path: squatter.path))
        }
        XCTAssertEqual(try outputNames().count, 3)
        XCTAssertEqual(try Data(contentsOf: squatter), Data("not mine".utf8))
        XCTAssertEqual(recorder.seen.count, 2, "a taken name under .fail is refused before denoising")

        // Custom suffix; a fresh name goes through under either policy.
        strict.suffix = "_clean"
        XCTAssertEqual(try strict.process(input, into: outDir).output.lastPathComponent, "a_clean.png")
    }

    /// Progress reaches the denoiser; returning false cancels the file and nothing is written.
    func testProgressAndCancellation() throws {
        let input = try write(ImageTestFiles.randomImage(width: 4, height: 4, colorChannels: 1, bitDepth: 8, alpha: false), "p.png")
        let pipeline = ImageDenoisingPipeline(denoiser: ClosureDenoiser { $0 })
        let calls = UnsafeSendableBox<[[Int]]>([])
        _ = try pipeline.process(input, into: outDir) { done, total in
            calls.mutate { $0.append([done, total]) }
            return true
        }
        XCTAssertEqual(calls.value, [[0, 1], [1, 1]])
        XCTAssertThrowsError(try pipeline.process(input, into: outDir) { _, _ in false }) {
            XCTAssertEqual($0 as? ImageError, .cancelled(path: input.path))
        }
        XCTAssertEqual(try outputNames(), ["p-denoised.png"])
    }

    func testUniqueNameHelper() {
        XCTAssertEqual(OutputPublisher.candidateName(stem: "x", suffix: "-denoised", extension: "png", attempt: 1), "x-denoised.png")
        XCTAssertEqual(OutputPublisher.candidateName(stem: "x", suffix: "-denoised", extension: "JPG", attempt: 7), "x-denoised-7.JPG")
    }

    /// 16-bit RGBA: the denoiser sees exactly the three colour channels as floats; alpha comes back
    /// bit-identical; format and depth are kept; out-of-range results are clipped.
    func testAlphaPassesThroughUntouched() throws {
        let image = ImageTestFiles.randomImage(width: 9, height: 7, colorChannels: 3, bitDepth: 16, alpha: true, seed: 3)
        let input = try write(image, "rgba16.png")
        let recorder = Recorder()
        let result = try ImageDenoisingPipeline(denoiser: recorder).process(input, into: outDir)

        XCTAssertEqual(recorder.seen.count, 1)
        XCTAssertEqual(recorder.seen[0], image.floatImage())
        XCTAssertEqual(recorder.seen[0].channels, 3)
        let out = try ImageCodec.read(result.output)
        XCTAssertEqual(out.alpha, image.alpha)
        XCTAssertEqual(out.bitDepth, 16)
        XCTAssertEqual(out.colorChannels, 3)
        for i in 0..<image.samples.count {
            XCTAssertEqual(out.samples[i], min(image.samples[i] + 10, 65535), "sample \(i)")
        }
        XCTAssertEqual(result.normalization, [NormalizationStats(mean: 1.5, std: 2.25)])
        XCTAssertEqual(result.info.width, 9)
    }

    /// Gray+alpha 8-bit keeps its layout too, and clipping at 255 applies.
    func testGrayAlphaEightBit() throws {
        let image = ImageTestFiles.randomImage(width: 16, height: 4, colorChannels: 1, bitDepth: 8, alpha: true, seed: 9)
        let result = try ImageDenoisingPipeline(denoiser: Recorder()).process(try write(image, "ga.png"), into: outDir)
        let out = try ImageCodec.read(result.output)
        XCTAssertEqual(out.alpha, image.alpha)
        XCTAssertEqual(out.colorChannels, 1)
        for i in 0..<image.samples.count { XCTAssertEqual(out.samples[i], min(image.samples[i] + 10, 255)) }
    }

    /// JPEG in, JPEG out, the input's extension spelling kept, provenance in the COM marker.
    func testJPEGKeepsFormatAndExtension() throws {
        var image = try ImageCodec.read(Fixtures.data("Set12/02.png"))
        image.format = .jpeg
        let input = try write(image, "house.JPG")
        var pipeline = ImageDenoisingPipeline(denoiser: ClosureDenoiser { $0 })
        pipeline.writeOptions.provenance = ["n2sp.model": "test-model"]
        let result = try pipeline.process(input, into: outDir)
        XCTAssertEqual(result.output.lastPathComponent, "house-denoised.JPG")
        XCTAssertEqual(try ImageCodec.probe(result.output).format, .jpeg)
        let bytes = try Data(contentsOf: result.output)
        XCTAssertNotNil(bytes.range(of: Data(#""n2sp.model":"test-model""#.utf8)))
        XCTAssertNotNil(bytes.range(of: Data(result.provenance["n2sp.input.sha256"]!.utf8)))
    }

    /// A file whose name lies about its format is written with the real format's extension.
    func testMisnamedFileGetsRealExtension() throws {
        let image = ImageTestFiles.randomImage(width: 4, height: 4, colorChannels: 1, bitDepth: 8, alpha: false)
        let input = inDir.appendingPathComponent("fake.jpg")
        try ImageCodec.write(image, to: input, format: .png, options: .init(fsync: false))
        let result = try ImageDenoisingPipeline(denoiser: ClosureDenoiser { $0 }).process(input, into: outDir)
        XCTAssertEqual(result.output.lastPathComponent, "fake-denoised.png")
    }

    /// Provenance: caller's keys, input name and SHA-256 (checked against an independent digest of the
    /// bytes), normalisation stats; all readable in the PNG's text chunks.
    func testProvenanceInPNG() throws {
        let input = Fixtures.data("Set12/01.png")
        var pipeline = ImageDenoisingPipeline(denoiser: Recorder())
        pipeline.writeOptions.provenance = ["n2sp.model.sha256": "feedface", "n2sp.tiling": "whole image"]
        let result = try pipeline.process(input, into: outDir)
        var hasher = SHA256()
        hasher.update(Array(try Data(contentsOf: input)))
        let digest = hasher.finalize()
        XCTAssertEqual(result.provenance["n2sp.input.sha256"], digest)
        let bytes = try Data(contentsOf: result.output)
        for text in ["tEXtn2sp.model.sha256\u{0}feedface", "tEXtn2sp.input.sha256\u{0}\(digest)", "tEXtn2sp.input\u{0}01.png",
                     "tEXtn2sp.normalization\u{0}mean=1.5 std=2.25", "tEXtn2sp.tiling\u{0}whole image"] {
            XCTAssertNotNil(bytes.range(of: Data(text.utf8)), "missing \(text)")
        }
    }

    /// Palette input → RGB 8-bit PNG output (documented).
    func testPaletteInputWritesRGB() throws {
        let bytes = ImageTestFiles.png(width: 2, height: 2, bitDepth: 8, colorType: 3, rows: [[0, 1], [1, 0]],
                                       extraChunks: [("PLTE", [10, 20, 30, 200, 100, 50])])
        let input = inDir.appendingPathComponent("pal.png")
        try ImageTestFiles.write(bytes, to: input)
        let result = try ImageDenoisingPipeline(denoiser: Recorder()).process(input, into: outDir)
        let info = try ImageCodec.probe(result.output)
        XCTAssertFalse(info.isPalette)
        XCTAssertEqual([info.colorChannels, info.bitDepth], [3, 8])
        XCTAssertEqual(try ImageCodec.read(result.output).samples, .uint8([20, 30, 40, 210, 110, 60, 210, 110, 60, 20, 30, 40]))
    }

    /// `--compare`: before | after, 8-bit, same channels; a 16-bit input is scaled to 8-bit.
    func testComparisonImage() throws {
        let image = DecodedImage(format: .png, width: 2, height: 2, colorChannels: 1,
                                 samples: .uint16([0, 65535, 257 * 100, 1000]), alpha: .uint16([65535, 0, 65535, 0]))
        let input = try write(image, "cmp.png")
        var pipeline = ImageDenoisingPipeline(denoiser: ClosureDenoiser { img in
            FloatImage(height: img.height, width: img.width, channels: 1, pixels: img.pixels.map { 65535 - $0 })
        })
        pipeline.writeComparison = true
        let result = try pipeline.process(input, into: outDir)
        let url = try XCTUnwrap(result.comparison)
        XCTAssertEqual(url.lastPathComponent, "cmp-denoised-compare.png")
        let cmp = try ImageCodec.read(url)
        XCTAssertEqual([cmp.width, cmp.height, cmp.colorChannels, cmp.bitDepth], [4, 2, 1, 8])
        // 1000 → 1000·255/65535 = 3.89 → 4;  65535 − 1000 = 64535 → 251.1 → 251.
        XCTAssertEqual(cmp.samples, .uint8([0, 255, 255, 0, 100, 4, 155, 251]))
        XCTAssertEqual(cmp.alpha, .uint8([255, 0, 255, 0, 255, 0, 255, 0]))

        // Under `.fail`, a taken comparison name does not undo or fail the denoised output itself.
        try FileManager.default.removeItem(at: result.output)
        pipeline.conflictPolicy = .fail
        let again = try pipeline.process(input, into: outDir)
        XCTAssertNil(again.comparison)
        XCTAssertEqual(again.comparisonError, .outputExists(path: url.path))
        XCTAssertEqual(again.output.lastPathComponent, "cmp-denoised.png")
    }

    func testDenoiserFailuresAreReportedPerFileWithoutOutput() throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "engine exploded" } }
        let input = try write(ImageTestFiles.randomImage(width: 4, height: 4, colorChannels: 1, bitDepth: 8, alpha: false), "b.png")
        XCTAssertThrowsError(try ImageDenoisingPipeline(denoiser: ClosureDenoiser { _ in throw Boom() }).process(input, into: outDir)) {
            XCTAssertEqual($0 as? ImageError, .denoiserFailed(path: input.path, reason: "engine exploded"))
        }
        let wrongSize = ClosureDenoiser { _ in FloatImage(height: 2, width: 2, channels: 1) }
        XCTAssertThrowsError(try ImageDenoisingPipeline(denoiser: wrongSize).process(input, into: outDir)) {
            guard case .denoiserFailed = $0 as? ImageError else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try outputNames(), [])
        let missing = outDir.appendingPathComponent("nope")
        XCTAssertThrowsError(try ImageDenoisingPipeline(denoiser: Recorder()).process(input, into: missing)) {
            guard case .writeFailed = $0 as? ImageError else { return XCTFail("\($0)") }
        }
    }

    /// Concurrent writers of the same name never clobber each other: every result gets its own file.
    func testConcurrentPublishingGetsDistinctNames() throws {
        let input = try write(ImageTestFiles.randomImage(width: 8, height: 8, colorChannels: 1, bitDepth: 8, alpha: false), "c.png")
        let outDir = self.outDir!
        let names = UnsafeSendableBox<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            let r = try! ImageDenoisingPipeline(denoiser: ClosureDenoiser { $0 }).process(input, into: outDir)
            names.mutate { $0.append(r.output.lastPathComponent) }
        }
        XCTAssertEqual(Set(names.value).count, 6)
        XCTAssertEqual(try outputNames().count, 6)
    }
}

/// A lock-protected box for collecting results from `concurrentPerform` in tests.
final class UnsafeSendableBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.withLock { stored } }
    func mutate(_ body: (inout T) -> Void) { lock.withLock { body(&stored) } }
}

extension ImagePipelineTests {
    /// A camera-style JPEG keeps its EXIF block (orientation!) and ICC profile: the output carries the
    /// same segments byte for byte, EXIF first after SOI (no JFIF APP0 then), and still decodes.
    func testJPEGKeepsExifAndICCProfile() throws {
        var image = try ImageCodec.read(Fixtures.data("Set12/06.png"))
        image.format = .jpeg
        let plain = inDir.appendingPathComponent("plain.jpg")
        try ImageCodec.write(image, to: plain, options: .init(fsync: false))
        // EXIF: big-endian TIFF header, one IFD entry: Orientation (0x0112), SHORT, 1, value 6 (rotate 90° CW).
        let exif: [UInt8] = Array("Exif\0\0".utf8) + [0x4D, 0x4D, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]
        let icc: [UInt8] = Array("ICC_PROFILE\0".utf8) + [1, 1] + (0..<300).map { UInt8($0 % 251) }
        func segment(_ marker: UInt8, _ payload: [UInt8]) -> [UInt8] {
            [0xFF, marker, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload
        }
        var bytes = Array(try Data(contentsOf: plain))
        bytes.insert(contentsOf: segment(0xE1, exif) + segment(0xE2, icc), at: 2)
        let camera = inDir.appendingPathComponent("camera.jpg")
        try ImageTestFiles.write(bytes, to: camera)

        let decoded = try ImageCodec.read(camera)
        XCTAssertEqual(decoded.carriedSegments, [JPEGSegment(marker: 0xE1, payload: exif), JPEGSegment(marker: 0xE2, payload: icc)])
        let result = try ImageDenoisingPipeline(denoiser: Recorder()).process(camera, into: outDir)
        let out = Array(try Data(contentsOf: result.output))
        XCTAssertEqual(Array(out.prefix(2 + 4 + exif.count)), [0xFF, 0xD8] + segment(0xE1, exif), "SOI, then the EXIF APP1")
        XCTAssertNotNil(Data(out).range(of: Data(segment(0xE2, icc))))
        XCTAssertNil(Data(out).range(of: Data("JFIF\0".utf8)), "EXIF files must not start with a JFIF APP0")
        XCTAssertEqual(try ImageCodec.read(result.output).carriedSegments, decoded.carriedSegments)
        // A PNG written from the same image carries none of it (PNG output of JPEG input is not a thing the
        // pipeline does, but the codec must not choke on it).
        let png = outDir.appendingPathComponent("as.png")
        try ImageCodec.write(decoded, to: png, format: .png, options: .init(fsync: false))
        XCTAssertEqual(try ImageCodec.read(png).carriedSegments, [])
    }
}

extension ImagePipelineTests {
    /// A PNG's colour-space and pixel-size chunks (gAMA, cHRM, iCCP, pHYs) reach the output byte for byte,
    /// before IDAT; other ancillary chunks (tIME) do not, and the pixels are still read as plain numbers.
    func testPNGKeepsColourChunks() throws {
        let gama = ImageTestFiles.bigEndian(45455)
        let chrm = [31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000].flatMap { ImageTestFiles.bigEndian(UInt32($0)) }
        let iccp = Array("test profile\0\0".utf8) + ImageTestFiles.zlibStored((0..<200).map { UInt8($0) })
        let phys = ImageTestFiles.bigEndian(3780) + ImageTestFiles.bigEndian(3780) + [1]
        let time: [UInt8] = [0x07, 0xEA, 11, 25, 12, 0, 0]
        let bytes = ImageTestFiles.png(width: 3, height: 1, bitDepth: 8, colorType: 0, rows: [[10, 20, 30]],
                                       extraChunks: [("gAMA", gama), ("cHRM", chrm), ("iCCP", iccp), ("pHYs", phys), ("tIME", time)])
        let input = inDir.appendingPathComponent("managed.png")
        try ImageTestFiles.write(bytes, to: input)
        let decoded = try ImageCodec.read(input)
        XCTAssertEqual(decoded.samples, .uint8([10, 20, 30]))
        XCTAssertEqual(decoded.carriedChunks.map(\.type), ["gAMA", "cHRM", "iCCP", "pHYs"])

        let result = try ImageDenoisingPipeline(denoiser: Recorder()).process(input, into: outDir)
        XCTAssertEqual(try ImageCodec.read(result.output).samples, .uint8([20, 30, 40]))
        let out = try Data(contentsOf: result.output)
        let idat = try XCTUnwrap(out.range(of: Data("IDAT".utf8))).lowerBound
        for (type, data) in [("gAMA", gama), ("cHRM", chrm), ("iCCP", iccp), ("pHYs", phys)] {
            let chunk = Data(ImageTestFiles.chunk(type, data))
            let at = try XCTUnwrap(out.range(of: chunk), "\(type) missing or changed").lowerBound
            XCTAssertLessThan(at, idat, "\(type) must precede IDAT")
        }
        XCTAssertNil(out.range(of: Data("tIME".utf8)))
        XCTAssertEqual(try ImageCodec.read(result.output).carriedChunks, decoded.carriedChunks)
    }
}
