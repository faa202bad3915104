import Foundation

/// The file formats n2spd reads and writes. A file's format is decided by its first bytes, never by its
/// name: a PNG called `photo.jpg` is read as the PNG it is.
public enum ImageFormat: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case png
    case jpeg

    /// PNG: the 8-byte signature `89 50 4E 47 0D 0A 1A 0A`. JPEG: SOI `FF D8` followed by a marker's `FF`.
    public static func detect(_ bytes: some Collection<UInt8>) -> ImageFormat? {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if bytes.starts(with: png) { return .png }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        return nil
    }

    /// The format a path extension names (used to pick files out of a folder; the content still decides).
    public init?(pathExtension: String) {
        switch pathExtension.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg", "jpe": self = .jpeg
        default: return nil
        }
    }

    /// The extension given to outputs whose input name did not already end in one of this format's.
    public var preferredExtension: String {
        switch self {
        case .png: "png"
        case .jpeg: "jpg"
        }
    }

    public var description: String {
        switch self {
        case .png: "PNG"
        case .jpeg: "JPEG"
        }
    }
}
