import CChecksum

/// CRC32C (Castagnoli) and TensorFlow's masking, backed by the `CChecksum` C target (SSE4.2 when the CPU
/// has it, slicing-by-8 otherwise).
public enum CRC32C {
    /// CRC32C of `bytes`.
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        extend(0, bytes)
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The CRC of (data behind `crc`) ‖ `bytes`; `crc` is a finished CRC, 0 for "nothing yet".
    @inlinable
    public static func extend(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return n2sp_crc32c_extend(crc, base, bytes.count)
    }

    public static func extend(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { extend(crc, $0) }
    }

    /// Rotate right by 15 and add 0xa282ead8: how LevelDB blocks and bundle entries store CRCs.
    @inlinable
    public static func mask(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8
    }

    @inlinable
    public static func unmask(_ masked: UInt32) -> UInt32 {
        let rotated = masked &- 0xa282_ead8
        return (rotated >> 17) | (rotated << 15)
    }

    /// Whether the SSE4.2 instruction path is in use on this machine.
    public static var usesHardware: Bool { n2sp_crc32c_uses_hardware() != 0 }
}
