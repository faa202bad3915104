import Denoiser
import Foundation

/// Small real image files for the tests, written with the project's own codecs.
enum TestImages {
    /// A `width × height` 8-bit gray PNG whose pixels depend on `seed` (so each file has distinct content).
    static func png(width: Int = 24, height: Int = 16, seed: Int) throws -> Data {
        var samples = [UInt8](repeating: 0, count: width * height)
        var state = UInt64(seed &+ 1) &* 0x9E3779B97F4A7C15
        for i in samples.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            samples[i] = UInt8(truncatingIfNeeded: (i * 7 + seed * 13) % 200 + Int(state >> 60))
        }
        let image = DecodedImage(format: .png, width: width, height: height, colorChannels: 1, samples: .uint8(samples))
        return try encode(image, format: .png)
    }

    /// An 8-bit RGB JPEG.
    static func jpeg(width: Int = 32, height: Int = 24, seed: Int) throws -> Data {
        var samples = [UInt8](repeating: 0, count: width * height * 3)
        for i in samples.indices { samples[i] = UInt8(truncatingIfNeeded: (i * 5 + seed * 31) % 251) }
        let image = DecodedImage(format: .jpeg, width: width, height: height, colorChannels: 3, samples: .uint8(samples))
        return try encode(image, format: .jpeg)
    }

    private static func encode(_ image: DecodedImage, format: ImageFormat) throws -> Data {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("n2spd-testimage-\(UUID().uuidString).\(format.preferredExtension)")
        try ImageCodec.write(image, to: url, format: format, options: ImageWriteOptions(fsync: false))
        defer { try? FileManager.default.removeItem(at: url) }
        return try Data(contentsOf: url)
    }

    /// A PNG whose IHDR claims `width × height` (a dimension bomb), with a valid IHDR CRC.
    static func dimensionBomb(width: UInt32 = 100_000, height: UInt32 = 100_000) throws -> Data {
        var data = try png(seed: 99)
        withUnsafeBytes(of: width.bigEndian) { data.replaceSubrange(16..<20, with: $0) }
        withUnsafeBytes(of: height.bigEndian) { data.replaceSubrange(20..<24, with: $0) }
        let crc = crc32(Array(data[12..<29]))
        withUnsafeBytes(of: crc.bigEndian) { data.replaceSubrange(29..<33, with: $0) }
        return data
    }

    /// A PNG whose last IDAT chunk carries a wrong CRC (the data itself intact).
    static func badCRC() throws -> Data {
        var data = try png(seed: 98)
        let index = data.count - 13  // last byte of the IDAT CRC (IEND is the last 12 bytes)
        data[index] ^= 0xFF
        return data
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }
}
