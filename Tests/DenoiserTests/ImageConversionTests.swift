import XCTest

import Denoiser

/// Float ↔ integer conversion: clip, then round half away from zero (documented on `DecodedImage`).
final class ImageConversionTests: XCTestCase {
    func testEightBitClipAndRound() {
        let values: [Float] = [-3.4, 255.6, 127.5, 127.49, 0.5, 0.49, 254.5, 1e9, -.infinity, .infinity, .nan, 42]
        XCTAssertEqual(DecodedImage.quantize(values, bitDepth: 8),
                       .uint8([0, 255, 128, 127, 1, 0, 255, 255, 0, 255, 0, 42]))
    }

    func testSixteenBitClipAndRound() {
        let values: [Float] = [1000, 1000.4, 1000.5, 65535.7, 65534.5, -1, 70000, 0.5]
        XCTAssertEqual(DecodedImage.quantize(values, bitDepth: 16),
                       .uint16([1000, 1000, 1001, 65535, 65535, 0, 65535, 1]))
    }

    /// Colour channels only go to the float image; alpha stays; replacing keeps alpha and bit depth.
    func testFloatImageCarriesColourOnly() {
        let image = DecodedImage(format: .png, width: 2, height: 1, colorChannels: 3,
                                 samples: .uint16([1, 2, 3, 1000, 65535, 0]), alpha: .uint16([7, 65535]))
        let f = image.floatImage()
        XCTAssertEqual([f.width, f.height, f.channels], [2, 1, 3])
        XCTAssertEqual(f.pixels, [1, 2, 3, 1000, 65535, 0])
        let back = image.replacingColor(with: FloatImage(height: 1, width: 2, channels: 3,
                                                         pixels: [1.4, 2.5, -8, 999.5, 70000, 0.2]))
        XCTAssertEqual(back.samples, .uint16([1, 3, 0, 1000, 65535, 0]))
        XCTAssertEqual(back.alpha, image.alpha)
        XCTAssertEqual(back.bitDepth, 16)
    }

    /// Every 8-bit and 16-bit value survives int → float → int unchanged.
    func testIdentityRoundTrip() {
        let eight = DecodedImage(format: .png, width: 256, height: 1, colorChannels: 1, samples: .uint8((0...255).map { UInt8($0) }))
        XCTAssertEqual(eight.replacingColor(with: eight.floatImage()), eight)
        let sixteen = DecodedImage(format: .png, width: 65536, height: 1, colorChannels: 1,
                                   samples: .uint16((0...65535).map { UInt16($0) }))
        XCTAssertEqual(sixteen.replacingColor(with: sixteen.floatImage()), sixteen)
    }

    func testSHA256KnownVectors() {
        var empty = SHA256()
        XCTAssertEqual(empty.finalize(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var abc = SHA256()
        abc.update(Array("abc".utf8))
        XCTAssertEqual(abc.finalize(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // Two-block message, fed in uneven pieces.
        var two = SHA256()
        let msg = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        two.update(msg.prefix(5))
        two.update(msg.dropFirst(5))
        XCTAssertEqual(two.finalize(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
