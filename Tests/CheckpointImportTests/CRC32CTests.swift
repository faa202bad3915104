import CChecksum
import CheckpointImport
import XCTest

final class CRC32CTests: XCTestCase {
    func testCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(n2sp_crc32c_extend_portable(0, "123456789", 9), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
    }

    /// Spec §3 worked example: beta1_power's bytes, their CRC and the masked value stored in the entry.
    func testMaskingMatchesTheSpecExample() {
        let crc = CRC32C.checksum([0x2a, 0xf6, 0x27, 0x3f])
        XCTAssertEqual(crc, 0xb162_c7ea)
        XCTAssertEqual(CRC32C.mask(crc), 0x3258_4d9d)
        XCTAssertEqual(CRC32C.unmask(0x3258_4d9d), crc)
        XCTAssertEqual(CRC32C.mask(0), 0xa282_ead8)  // an empty tensor's stored CRC
    }

    /// The hardware and table paths agree on every length/alignment combination, and extend composes.
    func testHardwareAndPortablePathsAgree() {
        var generator = SplitMix64(seed: 7)
        let bytes = (0..<4099).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        bytes.withUnsafeBytes { raw in
            for start in 0..<9 {
                for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4090 - start] {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    XCTAssertEqual(CRC32C.checksum(slice), n2sp_crc32c_extend_portable(0, slice.baseAddress!, length))
                }
            }
            let whole = CRC32C.checksum(raw)
            let split = CRC32C.extend(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<1234])),
                                      UnsafeRawBufferPointer(rebasing: raw[1234...]))
            XCTAssertEqual(whole, split)
        }
    }
}

/// Deterministic generator for tests (fuzzing, synthetic weights).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
