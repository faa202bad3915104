import Foundation
import XCTest

import Denoiser

/// Test-only helpers that make image files from scratch (no binary blobs in the repository): a minimal PNG
/// writer that builds chunks by hand (stored deflate blocks, our own CRC), so tests can produce what our
/// encoder never writes (palette, tRNS, 1-bit, gAMA/sRGB, damaged chunks).
enum ImageTestFiles {
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// CRC-32 (ISO 3309, as PNG uses), bitwise.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(crc32(typeBytes + data))
    }

    /// zlib stream of stored (uncompressed) deflate blocks.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for x in data {
            a = (a + UInt32(x)) % 65521
            b = (b + a) % 65521
        }
        return out + bigEndian(b << 16 | a)
    }

    /// A PNG with the given IHDR fields, raw (already packed) scanlines and extra chunks before IDAT.
    static func png(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, rows: [[UInt8]],
                    extraChunks: [(String, [UInt8])] = []) -> [UInt8] {
        let ihdr = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [bitDepth, colorType, 0, 0, 0]
        var raw: [UInt8] = []
        for row in rows { raw += [0] + row }  // filter type 0 (None)
        var file = pngSignature + chunk("IHDR", ihdr)
        for (type, data) in extraChunks { file += chunk(type, data) }
        return file + chunk("IDAT", zlibStored(raw)) + chunk("IEND", [])
    }

    static func write(_ bytes: [UInt8], to url: URL) throws {
        try Data(bytes).write(to: url)
    }

    /// Deterministic pseudo-random numbers (SplitMix64).
    struct Random {
        var generator: SplitMix64
        init(seed: UInt64) { generator = SplitMix64(seed: seed) }
        mutating func next() -> UInt64 { generator.next() }
        mutating func uint8s(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
        /// Full-range values that include the extremes 0 and 65535 and the byte-order-revealing 0x00FF/0xFF00.
        mutating func uint16s(_ n: Int) -> [UInt16] {
            (0..<n).map { i in
                switch i % 7 {
                case 0: 0
                case 1: 65535
                case 2: 0x00FF
                case 3: 0xFF00
                default: UInt16(truncatingIfNeeded: next())
                }
            }
        }
    }

    /// A random image with the given layout (alpha included when asked).
    static func randomImage(width: Int, height: Int, colorChannels: Int, bitDepth: Int, alpha: Bool,
                            format: ImageFormat = .png, seed: UInt64 = 1) -> DecodedImage {
        var rng = Random(seed: seed)
        let n = width * height
        func samples(_ count: Int) -> ImageSamples {
            bitDepth == 8 ? .uint8(rng.uint8s(count)) : .uint16(rng.uint16s(count))
        }
        let colour = samples(n * colorChannels)
        return DecodedImage(format: format, width: width, height: height, colorChannels: colorChannels,
                            samples: colour, alpha: alpha ? samples(n) : nil)
    }

    /// PSNR in dB of two 8-bit sample arrays.
    static func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
        var se = 0.0
        for i in 0..<a.count {
            let d = Double(a[i]) - Double(b[i])
            se += d * d
        }
        let mse = se / Double(a.count)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    static func bytes(of samples: ImageSamples) -> [UInt8] {
        guard case .uint8(let s) = samples else { fatalError("expected 8-bit samples") }
        return s
    }
}

/// Checks on the helpers themselves, so a broken helper cannot make other tests pass vacuously.
final class ImageTestFilesTests: XCTestCase {
    func testCRC32KnownValue() {
        XCTAssertEqual(ImageTestFiles.crc32(Array("123456789".utf8)), 0xCBF4_3926)
        // IEND's CRC as every PNG carries it.
        XCTAssertEqual(ImageTestFiles.chunk("IEND", []).suffix(4), [0xAE, 0x42, 0x60, 0x82])
    }
}
