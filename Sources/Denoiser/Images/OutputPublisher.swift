import CImageCodecs
import Foundation

/// What to do when the output name is already taken. Outputs are never replaced in either case.
public enum OutputConflictPolicy: String, Sendable, CaseIterable, Codable {
    /// Choose the next free name: `name-denoised.png`, `name-denoised-2.png`, `name-denoised-3.png`, …
    case uniqueName = "never"
    /// Fail the file with `.outputExists` instead of choosing another name.
    case fail
}

/// Writes files so that readers only ever see complete files and nothing existing is replaced:
/// encode into a hidden temp file in the destination folder (`.<name>.<random>.tmp`, which inbox
/// watchers ignore), fsync it, then rename it to the final name with RENAME_NOREPLACE (or link + unlink),
/// and fsync the folder so the new name survives a crash.
public enum OutputPublisher {
    /// The most names tried under `.uniqueName` before giving up (`-2` … `-9999`).
    public static let maxAttempts = 9999

    /// The candidate name number `n` (1-based): `<stem><suffix>.<ext>`, then `<stem><suffix>-<n>.<ext>`.
    public static func candidateName(stem: String, suffix: String, extension ext: String, attempt n: Int) -> String {
        n == 1 ? "\(stem)\(suffix).\(ext)" : "\(stem)\(suffix)-\(n).\(ext)"
    }

    /// Encodes with `write(tempURL)` and publishes under the first free candidate name in `directory`.
    /// Returns the published URL.
    public static func publish(
        in directory: URL, stem: String, suffix: String, extension ext: String, policy: OutputConflictPolicy,
        write: (URL) throws(ImageError) -> Void
    ) throws(ImageError) -> URL {
        let temp = directory.appendingPathComponent(".\(stem)\(suffix).\(UUID().uuidString.prefix(12)).tmp")
        try write(temp)
        var published: URL? = nil
        defer { if published == nil { unlink(temp.path) } }

        let attempts = policy == .uniqueName ? maxAttempts : 1
        for n in 1...attempts {
            let target = directory.appendingPathComponent(candidateName(stem: stem, suffix: suffix, extension: ext, attempt: n))
            let (status, message) = ImageCodec.withErrorBuffer { err, len in
                cic_rename_noreplace(temp.path, target.path, err, len)
            }
            if status == CIC_OK {
                published = target
                break
            }
            if status == CIC_ERR_EXISTS {
                if policy == .fail { throw .outputExists(path: target.path) }
                continue
            }
            throw .writeFailed(path: target.path, reason: message)
        }
        guard let published else {
            throw .outputExists(path: directory.appendingPathComponent(
                candidateName(stem: stem, suffix: suffix, extension: ext, attempt: maxAttempts)).path)
        }
        let (status, message) = ImageCodec.withErrorBuffer { err, len in cic_fsync_directory(directory.path, err, len) }
        guard status == CIC_OK else { throw .writeFailed(path: published.path, reason: message) }
        return published
    }
}
