import Foundation

/// A PNG chunk carried unchanged from an input to its output: the colour-space description (`iCCP`,
/// `sRGB`, `gAMA`, `cHRM`, `cICP`) and the physical pixel size (`pHYs`). The samples are passed through as
/// numbers in the same colour space, so the input's description stays true of the output; dropping it
/// would make colour-managed viewers show a different picture.
public struct PNGChunk: Sendable, Equatable {
    /// Four ASCII letters.
    public var type: String
    public var data: [UInt8]

    public init(type: String, data: [UInt8]) {
        precondition(type.utf8.count == 4, "a PNG chunk type has 4 letters")
        self.type = type
        self.data = data
    }

    /// The chunk types carried over, all of which must come before PLTE/IDAT.
    public static let carriedTypes: Set<String> = ["iCCP", "sRGB", "gAMA", "cHRM", "cICP", "pHYs"]

    /// Caps what one file may carry (ICC profiles are rarely above 1 MB).
    public static let maxCarriedBytes = 4 << 20

    /// The carried chunks of a PNG's header (everything before the first IDAT), in file order. Parsing stops
    /// quietly at anything unexpected (libpng already validated the file; a chunk whose CRC fails here is
    /// not carried).
    public static func carried(fromHeaderOf url: URL) -> [PNGChunk] {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return [] }
        defer { try? handle.close() }
        func read(_ n: Int) -> [UInt8]? {
            guard let data = try? handle.read(upToCount: n), data.count == n else { return nil }
            return Array(data)
        }
        guard let signature = read(8), ImageFormat.detect(signature) == .png else { return [] }
        var result: [PNGChunk] = []
        var total = 0
        while let head = read(8) {
            let length = Int(head[0]) << 24 | Int(head[1]) << 16 | Int(head[2]) << 8 | Int(head[3])
            let type = String(decoding: head[4..<8], as: UTF8.self)
            if type == "IDAT" || type == "IEND" || length > 0x7FFF_FFFF { break }
            if carriedTypes.contains(type) {
                total += length
                guard total <= maxCarriedBytes, let data = read(length), let crc = read(4) else { break }
                let stored = UInt32(crc[0]) << 24 | UInt32(crc[1]) << 16 | UInt32(crc[2]) << 8 | UInt32(crc[3])
                if CRC32.checksum(Array(head[4..<8]) + data) == stored { result.append(PNGChunk(type: type, data: data)) }
            } else {
                guard (try? handle.seek(toOffset: handle.offset() + UInt64(length) + 4)) != nil else { break }
            }
        }
        return result
    }
}

/// CRC-32 as PNG uses it (ISO 3309 / ITU-T V.42, reflected, polynomial 0xEDB88320).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
