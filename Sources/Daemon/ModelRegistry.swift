import Foundation
import Glibc

/// Versioned models in `<state>/models`: `v0001.safetensors` … with a `vNNNN.json` describing each, and a
/// `current` pointer file (`v0003` or `base`, replaced atomically by rename). `base` is the configured model
/// itself, which is never copied; fine-tuned versions are numbered from 1. Used by the daemon (promotion,
/// hot swap) and by `n2sp models list|rollback`.
public final class ModelRegistry: Sendable {
    public static let baseVersion = "base"
    public let directory: URL

    public struct VersionInfo: Codable, Sendable, Equatable {
        public var version: String
        public var created: Date
        /// The version it was fine-tuned from.
        public var parent: String
        public var steps: Int
        public var baselineLoss: Double
        public var candidateLoss: Double
        public var sha256: String
        public var bytes: Int64
    }

    public init(directory: URL) throws(SystemError) {
        self.directory = directory
        try FileOps.makeDirectory(directory)
    }

    public var pointerURL: URL { directory.appendingPathComponent("current") }

    public func fileURL(of version: String) -> URL { directory.appendingPathComponent("\(version).safetensors") }

    /// Fine-tuned versions on disk, oldest first.
    public func versions() -> [VersionInfo] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("v") && $0.hasSuffix(".json") }.sorted().compactMap { name in
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(name)),
                  let info = try? Ledger.decoder.decode(VersionInfo.self, from: data),
                  FileManager.default.fileExists(atPath: fileURL(of: info.version).path) else { return nil }
            return info
        }
    }

    /// The version in use (`base` when no pointer exists or it names a version that is gone).
    public func currentVersion() -> String {
        guard let text = try? String(contentsOf: pointerURL, encoding: .utf8) else { return Self.baseVersion }
        let version = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if version == Self.baseVersion { return version }
        return FileManager.default.fileExists(atPath: fileURL(of: version).path) ? version : Self.baseVersion
    }

    /// The model file of `version`, or nil for `base` (the caller's configured model).
    public func modelPath(of version: String, base: URL?) -> URL? {
        version == Self.baseVersion ? base : fileURL(of: version)
    }

    public func setCurrent(_ version: String) throws(RegistryError) {
        guard version == Self.baseVersion || versions().contains(where: { $0.version == version }) else {
            throw .unknownVersion(version, known: [Self.baseVersion] + versions().map(\.version))
        }
        do { try FileOps.replaceAtomically(pointerURL.path, Data("\(version)\n".utf8)) } catch {
            throw .io("\(error)")
        }
    }

    /// The version before the current one (what `rollback` without an argument goes to).
    public func previousVersion() -> String? {
        let current = currentVersion()
        let all = [Self.baseVersion] + versions().map(\.version)
        guard let index = all.firstIndex(of: current), index > 0 else { return nil }
        return all[index - 1]
    }

    /// Moves `candidate` in as the next version, makes it current, and keeps only the newest `keep` versions
    /// (plus the current one). Returns the new version.
    public func promote(candidate: URL, parent: String, measurement: FineTuneMeasurement, keep: Int) throws(RegistryError) -> String {
        let next = (versions().compactMap { Int($0.version.dropFirst()) }.max() ?? 0) + 1
        let version = String(format: "v%04d", next)
        do {
            let hash = try FileDigest.sha256(file: candidate.path)
            guard let info = FileOps.lstat(candidate.path) else { throw SystemError("lstat", path: candidate.path) }
            guard try FileOps.moveNoReplace(candidate.path, fileURL(of: version).path) else {
                throw SystemError("rename", path: fileURL(of: version).path, code: EEXIST)
            }
            let record = VersionInfo(version: version, created: Date(), parent: parent, steps: measurement.steps,
                                     baselineLoss: measurement.baselineLoss, candidateLoss: measurement.candidateLoss,
                                     sha256: hash, bytes: Int64(info.st_size))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            try FileOps.replaceAtomically(directory.appendingPathComponent("\(version).json").path, (try? encoder.encode(record)) ?? Data())
        } catch {
            throw .io("promoting \(candidate.path): \(error)")
        }
        try setCurrent(version)
        prune(keep: keep)
        return version
    }

    public func prune(keep: Int) {
        let current = currentVersion()
        let all = versions()
        for info in all.dropLast(max(keep, 1)) where info.version != current {
            unlink(fileURL(of: info.version).path)
            unlink(directory.appendingPathComponent("\(info.version).json").path)
        }
    }
}

public enum RegistryError: Error, Equatable, CustomStringConvertible {
    case unknownVersion(String, known: [String])
    case io(String)

    public var description: String {
        switch self {
        case .unknownVersion(let version, let known): "no model version '\(version)' (known: \(known.joined(separator: ", ")))"
        case .io(let message): message
        }
    }
}
