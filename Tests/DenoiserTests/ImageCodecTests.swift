import Foundation
import TestSupport
import XCTest

import Denoiser

final class ImageCodecTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try Fixtures.temporaryDirectory("n2spd-image")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    // MARK: PNG round trips

    /// Every PNG layout we write reads back bit for bit, including 16-bit extremes and byte-order probes
    /// (0x00FF / 0xFF00), and probe reports the layout.
    func testPNGRoundTripsBitExact() throws {
        for bitDepth in [8, 16] {
            for (colour, alpha) in [(1, false), (1, true), (3, false), (3, true)] {
                let image = ImageTestFiles.randomImage(width: 37, height: 23, colorChannels: colour, bitDepth: bitDepth,
                                                       alpha: alpha, seed: UInt64(bitDepth * 10 + colour))
                let url = dir.appendingPathComponent("rt-\(bitDepth)-\(colour)-\(alpha).png")
                try ImageCodec.write(image, to: url, options: .init(fsync: false))
                let info = try ImageCodec.probe(url)
                XCTAssertEqual(info, ImageInfo(format: .png, width: 37, height: 23, colorChannels: colour, hasAlpha: alpha,
                                               bitDepth: bitDepth, fileBitDepth: bitDepth))
                let back = try ImageCodec.read(url)
                XCTAssertEqual(back, image, "\(bitDepth)-bit, \(colour) colour channels, alpha \(alpha)")
            }
        }
    }

    /// 16-bit values are taken as stored: 1000 stays 1000 even with gAMA and sRGB chunks in the file (the
    /// simplified png_image API would have turned it into 7 or 38).
    func testSixteenBitIgnoresGamma() throws {
        let values: [UInt16] = [1000, 0, 65535, 0x1234]
        let row = values.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        let gamma = ImageTestFiles.bigEndian(45455)  // 1/2.2
        let bytes = ImageTestFiles.png(width: 4, height: 1, bitDepth: 16, colorType: 0, rows: [row],
                                       extraChunks: [("gAMA", gamma), ("sRGB", [0])])
        let url = dir.appendingPathComponent("gamma16.png")
        try ImageTestFiles.write(bytes, to: url)
        let image = try ImageCodec.read(url)
        XCTAssertEqual(image.bitDepth, 16)
        XCTAssertEqual(image.samples, .uint16(values))
        XCTAssertEqual(image.floatImage().pixels, [1000, 0, 65535, 0x1234])
    }

    /// 8-bit with gAMA 1.0: 4 stays 4 (the simplified API gave 39).
    func testEightBitIgnoresGamma() throws {
        let bytes = ImageTestFiles.png(width: 3, height: 1, bitDepth: 8, colorType: 0, rows: [[4, 128, 250]],
                                       extraChunks: [("gAMA", ImageTestFiles.bigEndian(100_000))])
        let url = dir.appendingPathComponent("gamma8.png")
        try ImageTestFiles.write(bytes, to: url)
        XCTAssertEqual(try ImageCodec.read(url).samples, .uint8([4, 128, 250]))
    }

    /// Palette PNG with tRNS: expanded to RGBA 8-bit with the palette's colours and alphas; noted as palette.
    func testPaletteWithTransparencyDecodesToRGBA() throws {
        let plte: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]
        let trns: [UInt8] = [0, 128]  // entries 2 and 3 stay opaque
        let bytes = ImageTestFiles.png(width: 4, height: 2, bitDepth: 8, colorType: 3, rows: [[0, 1, 2, 3], [3, 2, 1, 0]],
                                       extraChunks: [("PLTE", plte), ("tRNS", trns)])
        let url = dir.appendingPathComponent("palette.png")
        try ImageTestFiles.write(bytes, to: url)
        let info = try ImageCodec.probe(url)
        XCTAssertTrue(info.isPalette)
        XCTAssertEqual(info.colorChannels, 3)
        XCTAssertTrue(info.hasAlpha)
        let image = try ImageCodec.read(url)
        XCTAssertTrue(image.wasPalette)
        let colour = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]
        let alpha = [0, 128, 255, 255]
        let order = [0, 1, 2, 3, 3, 2, 1, 0]
        XCTAssertEqual(image.samples, .uint8(order.flatMap { colour[$0] }.map(UInt8.init)))
        XCTAssertEqual(image.alpha, .uint8(order.map { UInt8(alpha[$0]) }))

        // Written back as an RGBA 8-bit PNG (documented), with the same pixels.
        let out = dir.appendingPathComponent("palette-out.png")
        try ImageCodec.write(image, to: out, options: .init(fsync: false))
        let again = try ImageCodec.read(out)
        XCTAssertFalse(again.wasPalette)
        XCTAssertEqual(again.samples, image.samples)
        XCTAssertEqual(again.alpha, image.alpha)
    }

    /// Palette PNG without tRNS → RGB, no alpha; 1-bit gray → 8-bit 0/255; RGB with tRNS → RGBA.
    func testOtherExpansions() throws {
        let pal = ImageTestFiles.png(width: 2, height: 1, bitDepth: 4, colorType: 3, rows: [[0x01]],
                                     extraChunks: [("PLTE", [1, 2, 3, 4, 5, 6])])
        let palURL = dir.appendingPathComponent("pal4.png")
        try ImageTestFiles.write(pal, to: palURL)
        let p = try ImageCodec.read(palURL)
        XCTAssertNil(p.alpha)
        XCTAssertEqual(p.samples, .uint8([1, 2, 3, 4, 5, 6]))

        let bits = ImageTestFiles.png(width: 8, height: 1, bitDepth: 1, colorType: 0, rows: [[0b1010_0001]])
        let bitsURL = dir.appendingPathComponent("gray1.png")
        try ImageTestFiles.write(bits, to: bitsURL)
        XCTAssertEqual(try ImageCodec.probe(bitsURL).fileBitDepth, 1)
        XCTAssertEqual(try ImageCodec.read(bitsURL).samples, .uint8([255, 0, 255, 0, 0, 0, 0, 255]))

        let rgb = ImageTestFiles.png(width: 2, height: 1, bitDepth: 8, colorType: 2, rows: [[7, 8, 9, 1, 2, 3]],
                                     extraChunks: [("tRNS", [0, 7, 0, 8, 0, 9])])
        let rgbURL = dir.appendingPathComponent("rgbtrns.png")
        try ImageTestFiles.write(rgb, to: rgbURL)
        let r = try ImageCodec.read(rgbURL)
        XCTAssertEqual(r.samples, .uint8([7, 8, 9, 1, 2, 3]))
        XCTAssertEqual(r.alpha, .uint8([0, 255]))
    }

    /// A real file from the benchmark set reads with the expected size, and round-trips exactly.
    func testReadsSet12() throws {
        let url = Fixtures.data("Set12/01.png")
        let image = try ImageCodec.read(url)
        XCTAssertEqual([image.width, image.height, image.colorChannels, image.bitDepth], [256, 256, 1, 8])
        let out = dir.appendingPathComponent("01.png")
        try ImageCodec.write(image, to: out, options: .init(fsync: false))
        XCTAssertEqual(try ImageCodec.read(out), image)
    }

    // MARK: JPEG

    /// Expected JPEG error at quality q, from the standard's tables (an independent derivation, not a
    /// measurement): libjpeg scales the Annex K tables by (200 − 2q)% and rounds. Uniform quantisation of
    /// a DCT coefficient with step Q has error variance Q²/12, and the orthonormal DCT carries that into
    /// the pixel domain unchanged, so the per-pixel MSE is the mean of Q²/12 over the 64 entries. For RGB
    /// (4:4:4) the YCbCr→RGB inverse (R = Y + 1.402 Cr, G = Y − 0.344 Cb − 0.714 Cr, B = Y + 1.772 Cb)
    /// adds chroma error with those gains squared. Two 8-bit roundings (colour conversion, output) add
    /// ≤ 2 · 1/12. Natural images have many coefficients smaller than Q/2 whose error is below the uniform
    /// model's, so the real PSNR is above this bound.
    static func jpegPSNRBound(quality q: Int, color: Bool) -> Double {
        let luminance = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                         14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                         49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]
        let chrominance = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
                           47, 66, 99, 99, 99, 99, 99, 99] + [Int](repeating: 99, count: 32)
        let scale = q < 50 ? 5000 / q : 200 - 2 * q
        func mse(_ table: [Int]) -> Double {
            table.map { Double(min(255, max(1, ($0 * scale + 50) / 100))) }.map { $0 * $0 / 12 }.reduce(0, +) / 64
        }
        var m = mse(luminance)
        if color { m += (0.344 * 0.344 + 1.772 * 1.772 + 1.402 * 1.402 + 0.714 * 0.714) / 3 * mse(chrominance) }
        m += 2.0 / 12
        return 10 * log10(255 * 255 / m)
    }

    func testJPEGGrayRoundTripWithinDerivedPSNR() throws {
        let source = try ImageCodec.read(Fixtures.data("Set12/01.png"))
        var image = source
        image.format = .jpeg
        let url = dir.appendingPathComponent("gray.jpg")
        try ImageCodec.write(image, to: url, options: .init(jpegQuality: 95, fsync: false))
        let info = try ImageCodec.probe(url)
        XCTAssertEqual(info.format, .jpeg)
        XCTAssertEqual(info.colorChannels, 1)
        let back = try ImageCodec.read(url)
        XCTAssertEqual([back.width, back.height, back.colorChannels, back.bitDepth], [256, 256, 1, 8])
        let psnr = ImageTestFiles.psnr(ImageTestFiles.bytes(of: back.samples), ImageTestFiles.bytes(of: source.samples))
        let bound = Self.jpegPSNRBound(quality: 95, color: false)  // 42.2 dB
        print("JPEG gray q95: PSNR \(psnr) dB, derived bound \(bound) dB")
        XCTAssertGreaterThan(psnr, bound, "gray q95 PSNR \(psnr) dB")
        XCTAssertLessThan(psnr, 70, "suspiciously exact: is the encoder really lossy?")
    }

    func testJPEGRGBRoundTripWithinDerivedPSNR() throws {
        // A colour image from three different natural images as R, G and B.
        let planes = try ["01", "02", "03"].map { try ImageTestFiles.bytes(of: ImageCodec.read(Fixtures.data("Set12/\($0).png")).samples) }
        let n = 256 * 256
        var rgb = [UInt8](repeating: 0, count: 3 * n)
        for i in 0..<n { for c in 0..<3 { rgb[3 * i + c] = planes[c][i] } }
        let image = DecodedImage(format: .jpeg, width: 256, height: 256, colorChannels: 3, samples: .uint8(rgb))
        let url = dir.appendingPathComponent("rgb.jpeg")
        try ImageCodec.write(image, to: url, options: .init(jpegQuality: 95, fsync: false, provenance: ["model": "m1"]))
        let back = try ImageCodec.read(url)
        XCTAssertEqual(back.colorChannels, 3)
        XCTAssertNil(back.alpha)
        let psnr = ImageTestFiles.psnr(ImageTestFiles.bytes(of: back.samples), rgb)
        let bound = Self.jpegPSNRBound(quality: 95, color: true)  // 35.6 dB
        print("JPEG RGB q95 4:4:4: PSNR \(psnr) dB, derived bound \(bound) dB")
        XCTAssertGreaterThan(psnr, bound, "RGB q95 PSNR \(psnr) dB")
        // The COM marker carries the provenance as JSON.
        let bytes = try Data(contentsOf: url)
        XCTAssertNotNil(bytes.range(of: Data([0xFF, 0xFE])))
        XCTAssertNotNil(bytes.range(of: Data(#"{"model":"m1"}"#.utf8)))
    }

    func testJPEGRefusesAlphaAndSixteenBit() {
        let rgba = ImageTestFiles.randomImage(width: 4, height: 4, colorChannels: 3, bitDepth: 8, alpha: true)
        XCTAssertThrowsError(try ImageCodec.write(rgba, to: dir.appendingPathComponent("a.jpg"), format: .jpeg)) {
            guard case .unsupported = $0 as? ImageError else { return XCTFail("\($0)") }
        }
        let deep = ImageTestFiles.randomImage(width: 4, height: 4, colorChannels: 1, bitDepth: 16, alpha: false)
        XCTAssertThrowsError(try ImageCodec.write(deep, to: dir.appendingPathComponent("b.jpg"), format: .jpeg)) {
            guard case .unsupported = $0 as? ImageError else { return XCTFail("\($0)") }
        }
    }

    // MARK: writing

    /// The writer never replaces a file, and PNG provenance lands in text chunks (iTXt for non-ASCII).
    func testWriteIsExclusiveAndCarriesText() throws {
        let image = ImageTestFiles.randomImage(width: 5, height: 5, colorChannels: 1, bitDepth: 8, alpha: false)
        let url = dir.appendingPathComponent("x.png")
        try Data("keep me".utf8).write(to: url)
        XCTAssertThrowsError(try ImageCodec.write(image, to: url)) {
            XCTAssertEqual($0 as? ImageError, .outputExists(path: url.path))
        }
        XCTAssertEqual(try Data(contentsOf: url), Data("keep me".utf8))

        let out = dir.appendingPathComponent("y.png")
        try ImageCodec.write(image, to: out, options: .init(provenance: ["n2sp.model": "abc123", "note": "café"]))
        let bytes = try Data(contentsOf: out)
        XCTAssertNotNil(bytes.range(of: Data("tEXtn2sp.model\u{0}abc123".utf8)))
        XCTAssertNotNil(bytes.range(of: Data("iTXtnote".utf8)))
        XCTAssertNotNil(bytes.range(of: Data("café".utf8)))
        XCTAssertEqual(try ImageCodec.read(out), image)
    }

    func testFormatDetectionUsesContentNotName() throws {
        let image = ImageTestFiles.randomImage(width: 3, height: 3, colorChannels: 3, bitDepth: 8, alpha: false)
        let url = dir.appendingPathComponent("liar.jpg")
        try ImageCodec.write(image, to: url, format: .png, options: .init(fsync: false))
        XCTAssertEqual(try ImageCodec.probe(url).format, .png)
        XCTAssertEqual(ImageFormat.detect([0xFF, 0xD8, 0xFF, 0xE0]), .jpeg)
        XCTAssertNil(ImageFormat.detect([0xFF, 0xD8]))
        XCTAssertNil(ImageFormat.detect(Array("hello".utf8)))
    }
}

extension ImageCodecTests {
    /// An Adam7-interlaced 16-bit gray PNG (built by hand: each of the 7 passes is its own sub-image) decodes
    /// to the same pixels as the plain image: the row-by-row reader merges the passes correctly.
    func testAdam7InterlacedPNG() throws {
        let (w, h) = (13, 11)
        let values = (0..<(w * h)).map { UInt16(($0 * 2654435761) & 0xFFFF) }
        let passes = [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1)]
        var raw: [UInt8] = []
        for (row0, col0, dy, dx) in passes {
            let cols = Array(stride(from: col0, to: w, by: dx))
            guard !cols.isEmpty else { continue }
            for y in stride(from: row0, to: h, by: dy) {
                raw.append(0)
                for x in cols { raw += [UInt8(values[y * w + x] >> 8), UInt8(values[y * w + x] & 0xFF)] }
            }
        }
        let ihdr = ImageTestFiles.bigEndian(UInt32(w)) + ImageTestFiles.bigEndian(UInt32(h)) + [16, 0, 0, 0, 1]
        let bytes = ImageTestFiles.pngSignature + ImageTestFiles.chunk("IHDR", ihdr)
            + ImageTestFiles.chunk("IDAT", ImageTestFiles.zlibStored(raw)) + ImageTestFiles.chunk("IEND", [])
        let url = dir.appendingPathComponent("adam7.png")
        try ImageTestFiles.write(bytes, to: url)
        XCTAssertTrue(try ImageCodec.probe(url).isInterlaced)
        XCTAssertEqual(try ImageCodec.read(url).samples, .uint16(values))
    }
}
