import Foundation

/// Locates the read-only reference data in `../shared` (fixtures written by the TensorFlow reference,
/// and the benchmark images). CI lays `shared/` beside the clone; `N2SPD_SHARED` overrides the location.
public enum Fixtures {
    /// The repository root, derived from this file's path (`<root>/Tests/TestSupport/Fixtures.swift`).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared` next to the repository, or `$N2SPD_SHARED`.
    public static let shared: URL = {
        if let override = ProcessInfo.processInfo.environment["N2SPD_SHARED"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }()

    /// `shared/fixtures/<relative>`.
    public static func fixture(_ relative: String) -> URL {
        shared.appendingPathComponent("fixtures").appendingPathComponent(relative)
    }

    /// `shared/data/<relative>`.
    public static func data(_ relative: String) -> URL {
        shared.appendingPathComponent("data").appendingPathComponent(relative)
    }

    /// A raw little-endian float32 file (the fixtures' `.f32` format: no header, row-major).
    public static func readFloat32(_ url: URL) throws -> [Float] {
        let bytes = try Data(contentsOf: url)
        precondition(bytes.count % 4 == 0, "\(url.path): size \(bytes.count) is not a multiple of 4")
        return bytes.withUnsafeBytes { raw in
            (0..<bytes.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// A fresh, empty temporary directory for one test; removed by the caller or left in /tmp.
    public static func temporaryDirectory(_ label: String = "n2spd-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Error metrics used by the numerical parity tests, defined once so every test states its tolerance the same way.
public enum Compare {
    /// max |a - b| / max |b|  (b is the reference).
    public static func maxAbsOverMaxRef(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "length mismatch \(a.count) vs \(b.count)")
        var maxDiff = 0.0, maxRef = 0.0
        for i in 0..<a.count {
            maxDiff = max(maxDiff, abs(Double(a[i]) - Double(b[i])))
            maxRef = max(maxRef, abs(Double(b[i])))
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef
    }

    /// ||a - b||₂ / ||b||₂  (b is the reference).
    public static func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "length mismatch \(a.count) vs \(b.count)")
        var num = 0.0, den = 0.0
        for i in 0..<a.count {
            let d = Double(a[i]) - Double(b[i])
            num += d * d
            den += Double(b[i]) * Double(b[i])
        }
        return den == 0 ? num.squareRoot() : (num / den).squareRoot()
    }

    /// max |a - b|.
    public static func maxAbs(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "length mismatch \(a.count) vs \(b.count)")
        var m = 0.0
        for i in 0..<a.count { m = max(m, abs(Double(a[i]) - Double(b[i]))) }
        return m
    }
}
