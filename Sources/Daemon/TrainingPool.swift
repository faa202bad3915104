import Foundation
import Glibc
import Synchronization

/// Accepted inputs kept for fine-tuning, in `<state>/pool/`, bounded by count, bytes and age.
///
/// Entries are named `<unix seconds>-<sha256>.<ext>` so that age and identity need no index file, and a
/// hard link is used when the inbox shares the state directory's file system (no copy), a copy otherwise.
/// Each entry is assigned to the training or the held-out side by its hash, so the promotion gate's
/// validation images never leak into training, across restarts too.
public final class TrainingPool: Sendable {
    public let directory: URL
    private let limits: Mutex<FineTunePolicy>
    private let hashes = Mutex<Set<String>>([])

    public init(directory: URL, policy: FineTunePolicy) throws(SystemError) {
        self.directory = directory
        self.limits = Mutex(policy)
        try FileOps.makeDirectory(directory)
        let known = Set(entries().map(\.hash))
        hashes.withLock { $0 = known }
        prune()
    }

    public func update(policy: FineTunePolicy) {
        limits.withLock { $0 = policy }
        prune()
    }

    /// Entries in the pool (from memory: no directory listing).
    public var count: Int { hashes.withLock { $0.count } }

    public struct Entry: Sendable, Equatable {
        public var url: URL
        public var hash: String
        public var added: Date
        public var bytes: Int64
        /// True for the held-out (validation) side.
        public var heldOut: Bool
    }

    /// Adds a claimed input (before it leaves the processing area). Failures only cost a training sample.
    public func add(claimedFile path: String, hash: String) {
        let isNew = hashes.withLock { $0.insert(hash).inserted }
        guard isNew else { return }
        let ext = (path as NSString).pathExtension.lowercased()
        let target = directory.appendingPathComponent("\(Int(Date().timeIntervalSince1970))-\(hash)\(ext.isEmpty ? "" : ".\(ext)")").path
        if link(path, target) != 0 {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                try FileOps.writeNewFile(target, data)
            } catch {
                Journal.warning("training pool: could not keep \(path): \(error)")
                _ = hashes.withLock { $0.remove(hash) }
                return
            }
        }
        prune()
    }

    public func entries() -> [Entry] {
        let fraction = limits.withLock { $0.heldOutFraction }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name -> Entry? in
            guard !name.hasPrefix("."), let dash = name.firstIndex(of: "-"), let seconds = Int(name[..<dash]) else { return nil }
            let hash = String((name[name.index(after: dash)...]).prefix { $0 != "." })
            guard hash.count == 64, let info = FileOps.lstat(directory.appendingPathComponent(name).path), FileOps.isRegularFile(info) else {
                return nil
            }
            let bucket = Double(UInt8(hash.prefix(2), radix: 16) ?? 0) / 256
            return Entry(url: directory.appendingPathComponent(name), hash: hash, added: Date(timeIntervalSince1970: Double(seconds)),
                         bytes: Int64(info.st_size), heldOut: bucket < fraction)
        }.sorted { $0.added != $1.added ? $0.added < $1.added : $0.hash < $1.hash }
        .withBothSides()
    }

    /// Drops the oldest entries beyond the caps and everything older than the age limit.
    public func prune() {
        let policy = limits.withLock { $0 }
        var all = entries()
        let now = Date()
        var totalBytes = all.reduce(Int64(0)) { $0 + $1.bytes }
        while let oldest = all.first {
            let tooOld = policy.poolMaxAgeDays > 0 && now.timeIntervalSince(oldest.added) > policy.poolMaxAgeDays * 86400
            guard tooOld || all.count > policy.poolMaxFiles || totalBytes > policy.poolMaxBytes else { break }
            unlink(oldest.url.path)
            _ = hashes.withLock { $0.remove(oldest.hash) }
            totalBytes -= oldest.bytes
            all.removeFirst()
        }
    }
}

extension Array where Element == TrainingPool.Entry {
    /// With two or more entries, both sides must be non-empty for a fine-tune to be judged: if the hash
    /// split left one side empty, the entry with the smallest (resp. largest) hash changes side. Still a
    /// pure function of the pool's contents, so the split is stable.
    fileprivate func withBothSides() -> [TrainingPool.Entry] {
        guard count >= 2 else { return self }
        var result = self
        if !result.contains(where: \.heldOut), let index = result.indices.min(by: { result[$0].hash < result[$1].hash }) {
            result[index].heldOut = true
        } else if result.allSatisfy(\.heldOut), let index = result.indices.max(by: { result[$0].hash < result[$1].hash }) {
            result[index].heldOut = false
        }
        return result
    }
}
