import Foundation
import TestSupport
import XCTest

import Denoiser

/// Hostile or broken inputs each fail with their own `ImageError`, naming the file, before any pixel buffer
/// is allocated.
final class ImageHostileFileTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try Fixtures.temporaryDirectory("n2spd-hostile")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// A valid 8-bit RGB PNG from our own encoder.
    func validPNG() throws -> [UInt8] {
        let image = ImageTestFiles.randomImage(width: 64, height: 64, colorChannels: 3, bitDepth: 8, alpha: false)
        let url = dir.appendingPathComponent("valid-\(UUID().uuidString).png")
        try ImageCodec.write(image, to: url, options: .init(fsync: false))
        return Array(try Data(contentsOf: url))
    }

    func expectError(_ bytes: [UInt8], name: String, limits: ImageLimits = .default,
                     file: StaticString = #filePath, line: UInt = #line, _ check: (ImageError) -> Bool) throws {
        let url = dir.appendingPathComponent(name)
        try ImageTestFiles.write(bytes, to: url)
        expectError(url, limits: limits, file: file, line: line, check)
    }

    func expectError(_ url: URL, limits: ImageLimits = .default, file: StaticString = #filePath, line: UInt = #line,
                     _ check: (ImageError) -> Bool) {
        do {
            let image = try ImageCodec.read(url, limits: limits)
            XCTFail("\(url.lastPathComponent) decoded to \(image.width)×\(image.height)", file: file, line: line)
        } catch {
            XCTAssertTrue(check(error), "wrong error: \(error)", file: file, line: line)
            XCTAssertEqual(error.path, url.path, "the error must name the file", file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix(url.path), file: file, line: line)
        }
    }

    func testTruncatedPNG() throws {
        let png = try validPNG()
        try expectError(Array(png.prefix(png.count / 2)), name: "half.png") {
            if case .truncated = $0 { return true } else { return false }
        }
        // Cut after the pixel data, before IEND: still refused.
        try expectError(Array(png.dropLast(12)), name: "no-iend.png") {
            if case .truncated = $0 { return true } else { return false }
        }
        // Cut inside the header.
        try expectError(Array(png.prefix(20)), name: "stub.png") {
            if case .truncated = $0 { return true } else { return false }
        }
    }

    func testFlippedCRCByte() throws {
        var png = try validPNG()
        png[32] ^= 0x01  // last byte of IHDR's CRC (8 signature + 8 length/type + 13 data + 3)
        try expectError(png, name: "ihdr-crc.png") {
            if case .badChecksum = $0 { return true } else { return false }
        }
        // A flipped bit inside IDAT data is caught by the chunk CRC, not left to zlib.
        var idat = try validPNG()
        let idatStart = try XCTUnwrap(idat.indices.first { Array(idat[$0..<($0 + 4)]) == Array("IDAT".utf8) })
        idat[idatStart + 10] ^= 0x40
        try expectError(idat, name: "idat-crc.png") {
            if case .badChecksum = $0 { return true } else { return false }
        }
    }

    /// A header claiming 100000×100000 (10 gigapixels) with a valid CRC: refused from the header alone.
    func testAbsurdDimensionsWithValidCRC() throws {
        let bytes = ImageTestFiles.png(width: 100_000, height: 100_000, bitDepth: 8, colorType: 2, rows: [[0, 0, 0]])
        let url = dir.appendingPathComponent("huge.png")
        try ImageTestFiles.write(bytes, to: url)
        let start = ContinuousClock.now
        expectError(url) {
            if case .tooLarge(_, let detail) = $0 { return detail.contains("100000") } else { return false }
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(1), "must fail on the header, without decoding")
        // probe says the same.
        XCTAssertThrowsError(try ImageCodec.probe(url)) {
            guard case .tooLarge = $0 as? ImageError else { return XCTFail("\($0)") }
        }
    }

    /// The pixel and file-size caps are configurable.
    func testConfigurableLimits() throws {
        let png = try validPNG()  // 64×64, a few KB
        try expectError(png, name: "cap-pixels.png", limits: ImageLimits(maxPixels: 4095)) {
            if case .tooLarge = $0 { return true } else { return false }
        }
        try expectError(png, name: "cap-bytes.png", limits: ImageLimits(maxFileBytes: 100)) {
            if case .fileTooLarge(_, let bytes, 100) = $0 { return bytes == Int64(png.count) } else { return false }
        }
        let url = dir.appendingPathComponent("ok.png")
        try ImageTestFiles.write(png, to: url)
        XCTAssertNoThrow(try ImageCodec.read(url, limits: ImageLimits(maxPixels: 4096)))
    }

    func testZeroBytes() throws {
        try expectError([], name: "empty.png") { $0 == .emptyFile(path: self.dir.appendingPathComponent("empty.png").path) }
    }

    func testTextFile() throws {
        try expectError(Array("just some text, not an image\n".utf8), name: "notes.png") {
            if case .notAnImage = $0 { return true } else { return false }
        }
        // Fewer bytes than a signature.
        try expectError([0x89, 0x50], name: "tiny.png") {
            if case .notAnImage = $0 { return true } else { return false }
        }
    }

    func testDirectoryMissingFileAndFIFO() throws {
        let sub = dir.appendingPathComponent("folder.png")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: false)
        expectError(sub) { $0 == .isDirectory(path: sub.path) }
        let missing = dir.appendingPathComponent("missing.png")
        expectError(missing) { $0 == .notFound(path: missing.path) }
        let fifo = dir.appendingPathComponent("pipe.png")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        expectError(fifo) { $0 == .notRegularFile(path: fifo.path) }
    }

    func testTruncatedJPEG() throws {
        var image = try ImageCodec.read(Fixtures.data("Set12/01.png"))
        image.format = .jpeg
        let url = dir.appendingPathComponent("full.jpg")
        try ImageCodec.write(image, to: url, options: .init(fsync: false))
        let jpeg = Array(try Data(contentsOf: url))
        XCTAssertNoThrow(try ImageCodec.read(url))
        // libjpeg alone would return a gray-padded image with only a warning.
        try expectError(Array(jpeg.prefix(jpeg.count * 6 / 10)), name: "cut.jpg") {
            if case .truncated = $0 { return true } else { return false }
        }
        // Cut inside the headers (before any scan).
        try expectError(Array(jpeg.prefix(200)), name: "cut-header.jpg") {
            if case .truncated = $0 { return true } else { return false }
        }
    }

    func testGarbageAfterJPEGSignature() throws {
        var rng = ImageTestFiles.Random(seed: 7)
        try expectError([0xFF, 0xD8, 0xFF, 0xE0] + rng.uint8s(2000), name: "garbage.jpg") {
            switch $0 {
            case .corrupt, .truncated: true
            default: false
            }
        }
    }
}

extension ImageHostileFileTests {
    /// A gray JPEG whose frame header is rewritten to declare 4 components (libjpeg then takes it as CMYK,
    /// as it does for real Adobe CMYK files without an APP14 marker): refused as unsupported, by name.
    func testCMYKJPEGIsRefusedClearly() throws {
        var image = try ImageCodec.read(Fixtures.data("Set12/01.png"))
        image.format = .jpeg
        let url = dir.appendingPathComponent("gray.jpg")
        try ImageCodec.write(image, to: url, options: .init(fsync: false))
        var jpeg = Array(try Data(contentsOf: url))
        let sof = try XCTUnwrap((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        XCTAssertEqual(jpeg[sof + 9], 1, "expected a 1-component frame")
        let length = Int(jpeg[sof + 2]) << 8 | Int(jpeg[sof + 3])
        jpeg[sof + 3] = UInt8(length + 9)  // 8 + 3·1 = 11 → 20 (fits one byte)
        jpeg[sof + 9] = 4
        // Components 2…4: ids 2, 3, 4, sampling 1×1, quantisation table 0.
        jpeg.insert(contentsOf: [2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0], at: sof + 2 + length)
        try expectError(jpeg, name: "cmyk.jpg") {
            if case .unsupported(_, let why) = $0 { return why.contains("CMYK") } else { return false }
        }
    }
}

extension ImageHostileFileTests {
    /// Random damage (flipped bytes, cuts, spliced garbage) to valid PNG and JPEG files never crashes the
    /// process: every read either succeeds or throws an `ImageError` naming the file. 400 cases each run
    /// in well under a second.
    func testRandomDamageNeverCrashes() throws {
        var image = try ImageCodec.read(Fixtures.data("Set12/04.png"))
        let pngURL = dir.appendingPathComponent("seed.png")
        try ImageCodec.write(image, to: pngURL, options: .init(fsync: false))
        image.format = .jpeg
        let jpegURL = dir.appendingPathComponent("seed.jpg")
        try ImageCodec.write(image, to: jpegURL, options: .init(fsync: false))
        var rng = ImageTestFiles.Random(seed: 42)
        var outcomes: [String: Int] = [:]
        for (seedURL, name) in [(pngURL, "png"), (jpegURL, "jpg")] {
            let original = Array(try Data(contentsOf: seedURL))
            for i in 0..<200 {
                var bytes = original
                switch rng.next() % 3 {
                case 0:
                    for _ in 0..<(1 + Int(rng.next() % 4)) {
                        let at = Int(rng.next() % UInt64(bytes.count))
                        bytes[at] ^= UInt8(1 + rng.next() % 255)
                    }
                case 1:
                    bytes = Array(bytes.prefix(1 + Int(rng.next() % UInt64(bytes.count - 1))))
                default:
                    let at = Int(rng.next() % UInt64(bytes.count))
                    bytes.insert(contentsOf: rng.uint8s(1 + Int(rng.next() % 64)), at: at)
                }
                let url = dir.appendingPathComponent("fuzz-\(i).\(name)")
                try ImageTestFiles.write(bytes, to: url)
                do {
                    _ = try ImageCodec.read(url)
                    outcomes["ok", default: 0] += 1
                } catch {
                    XCTAssertEqual(error.path, url.path)
                    outcomes["\(name) \(String(describing: error).split(separator: ":")[1].split(separator: " ").prefix(3).joined(separator: " "))", default: 0] += 1
                }
                try FileManager.default.removeItem(at: url)
            }
        }
        print("fuzz outcomes: \(outcomes.sorted { $0.key < $1.key })")
    }
}

extension ImageHostileFileTests {
    /// A progressive JPEG decodes (as interlaced) — and one whose last scan is repeated 600 times (a few
    /// hundred KB that would cost libjpeg a full coefficient pass per scan) is refused by the scan limit.
    func testProgressiveJPEGAndScanBomb() throws {
        var image = try ImageCodec.read(Fixtures.data("Set12/02.png"))
        image.format = .jpeg
        let url = dir.appendingPathComponent("progressive.jpg")
        try ImageCodec.write(image, to: url, options: .init(jpegQuality: 90, jpegProgressive: true, fsync: false))
        XCTAssertTrue(try ImageCodec.probe(url).isInterlaced)
        let decoded = try ImageCodec.read(url)
        XCTAssertGreaterThan(ImageTestFiles.psnr(ImageTestFiles.bytes(of: decoded.samples), ImageTestFiles.bytes(of: image.samples)),
                             ImageCodecTests.jpegPSNRBound(quality: 90, color: false))

        let bytes = Array(try Data(contentsOf: url))
        let lastSOS = try XCTUnwrap((0..<(bytes.count - 1)).last { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA })
        XCTAssertEqual(Array(bytes.suffix(2)), [0xFF, 0xD9])
        let scan = Array(bytes[lastSOS..<(bytes.count - 2)])
        var bomb = Array(bytes.dropLast(2))
        for _ in 0..<600 { bomb += scan }
        bomb += [0xFF, 0xD9]
        let start = ContinuousClock.now
        try expectError(bomb, name: "bomb.jpg") {
            if case .unsupported(_, let why) = $0 { return why.contains("scans") } else { return false }
        }
        print("scan bomb of \(bomb.count) bytes refused in \(ContinuousClock.now - start)")
    }
}

extension ImageHostileFileTests {
    /// Junk between the last scan and EOI (some cameras pad there) only draws libjpeg's "extraneous bytes"
    /// warning and leaves every pixel intact: accepted, with the same pixels. Junk inside the scan is not.
    func testJunkBeforeEOIIsAcceptedButNotInsideTheScan() throws {
        var image = try ImageCodec.read(Fixtures.data("Set12/03.png"))
        image.format = .jpeg
        let url = dir.appendingPathComponent("clean.jpg")
        try ImageCodec.write(image, to: url, options: .init(fsync: false))
        let clean = try ImageCodec.read(url)
        let bytes = Array(try Data(contentsOf: url))
        try ImageTestFiles.write(Array(bytes.dropLast(2)) + [0x00, 0x11, 0x22, 0x33] + [0xFF, 0xD9], to: dir.appendingPathComponent("padded.jpg"))
        XCTAssertEqual(try ImageCodec.read(dir.appendingPathComponent("padded.jpg")).samples, clean.samples)

        var damaged = bytes
        let sos = try XCTUnwrap((0..<(bytes.count - 1)).last { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA })
        damaged.insert(contentsOf: [0xFF, 0xD0, 0xFF, 0xD3], at: sos + (bytes.count - sos) / 2)  // stray restart markers
        try expectError(damaged, name: "damaged.jpg") {
            if case .corrupt = $0 { return true } else { return false }
        }
    }
}
