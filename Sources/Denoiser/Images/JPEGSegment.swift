import Foundation

/// A JPEG marker segment carried unchanged from an input to its output: the EXIF block (APP1 `Exif`,
/// which holds the orientation a viewer rotates by, camera data and the thumbnail) and the ICC colour
/// profile (APP2 `ICC_PROFILE`, possibly split over several segments). Without them a denoised camera
/// photo would show up rotated or in the wrong colour space. The pixels stay in the same orientation and
/// colour space, so copying is exact.
public struct JPEGSegment: Sendable, Equatable {
    /// The marker's second byte: 0xE1 for APP1, 0xE2 for APP2.
    public var marker: UInt8
    /// The payload after the 2-byte length (at most 65533 bytes).
    public var payload: [UInt8]

    public init(marker: UInt8, payload: [UInt8]) {
        precondition(payload.count <= 65533, "a JPEG segment holds at most 65533 bytes")
        self.marker = marker
        self.payload = payload
    }

    public var isExif: Bool { marker == 0xE1 && payload.starts(with: Array("Exif\0\0".utf8)) }
    public var isICCProfile: Bool { marker == 0xE2 && payload.starts(with: Array("ICC_PROFILE\0".utf8)) }

    /// Caps what one file may carry (EXIF ≤ 64 KB by the format; ICC profiles are rarely above 1 MB).
    public static let maxCarriedBytes = 4 << 20

    /// The EXIF and ICC segments of the JPEG header (markers before the first scan), in file order.
    /// Parsing stops quietly at anything unexpected: the image itself was already validated by libjpeg,
    /// and a damaged header segment is simply not carried.
    public static func carried(fromHeaderOf url: URL) -> [JPEGSegment] {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return [] }
        defer { try? handle.close() }
        func read(_ n: Int) -> [UInt8]? {
            guard let data = try? handle.read(upToCount: n), data.count == n else { return nil }
            return Array(data)
        }
        guard read(2) == [0xFF, 0xD8] else { return [] }
        var result: [JPEGSegment] = []
        var total = 0
        while let head = read(2), head[0] == 0xFF {
            var marker = head[1]
            while marker == 0xFF { guard let next = read(1) else { return result }; marker = next[0] }  // fill bytes
            if marker == 0xDA || marker == 0xD9 { break }  // start of scan / end of image
            if (0xD0...0xD7).contains(marker) || marker == 0x01 { continue }  // no length
            guard let lengthBytes = read(2) else { break }
            let length = Int(lengthBytes[0]) << 8 | Int(lengthBytes[1])
            guard length >= 2, let payload = read(length - 2) else { break }
            let segment = JPEGSegment(marker: marker, payload: payload)
            if segment.isExif || segment.isICCProfile {
                total += payload.count
                guard total <= maxCarriedBytes else { break }
                result.append(segment)
            }
        }
        return result
    }
}
