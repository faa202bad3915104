/// Bounds-checked little-endian / varint decoding over a byte range of a buffer. Every read that would
/// run past `end` throws, so hostile index files become errors, never out-of-bounds reads.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int

    /// Reads `bytes[start..<end]`.
    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.position = start
        self.end = end ?? bytes.count
    }

    enum Failure: Error { case pastEnd, varintTooLong, varintOverflow }

    var remaining: Int { end - position }
    var isAtEnd: Bool { position >= end }

    mutating func varint64() throws(Failure) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for index in 0..<10 {
            guard position < end else { throw .pastEnd }
            let byte = bytes[position]
            position += 1
            // the 10th byte may only carry the top bit of a 64-bit value
            if index == 9 && byte > 1 { throw .varintOverflow }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw .varintTooLong
    }

    mutating func varint32() throws(Failure) -> UInt32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        for index in 0..<5 {
            guard position < end else { throw .pastEnd }
            let byte = bytes[position]
            position += 1
            if index == 4 && byte > 0x0f { throw .varintOverflow }
            result |= UInt32(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw .varintTooLong
    }

    mutating func fixed32() throws(Failure) -> UInt32 {
        guard remaining >= 4 else { throw .pastEnd }
        defer { position += 4 }
        return Self.fixed32(bytes, at: position)
    }

    mutating func take(_ count: Int) throws(Failure) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw .pastEnd }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    static func fixed32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    static func fixed64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        UInt64(fixed32(bytes, at: offset)) | UInt64(fixed32(bytes, at: offset + 4)) << 32
    }
}

/// Little-endian / varint encoding for the writers.
enum ByteWriter {
    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func appendFixed32(_ value: UInt32, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    static func appendFixed64(_ value: UInt64, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }
}
