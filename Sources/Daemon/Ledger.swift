import Foundation
import Glibc
import Synchronization

/// One line of the ledger.
public struct LedgerRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// About to link the finished temp file `temporary` to `output` (written before the link, so that a
        /// crash between link and ledger can be resolved by comparing inodes).
        case delivering
        /// `output` is in place; the input may leave the processing area.
        case delivered
    }

    public var kind: Kind
    /// The claim's id (prefix of the file name in the processing area).
    public var job: String
    public var inbox: String
    /// The input's original file name.
    public var name: String
    /// SHA-256 of the input.
    public var hash: String
    public var output: String
    public var temporary: String?
    public var model: String
    public var time: Date
}

/// Append-only record of every delivered output (content hash → output, model version), in
/// `<state>/ledger.jsonl`. Each append is one `write(2)` followed by `fsync`, so after a crash the file holds
/// every record whose append returned (a torn last line is skipped). It makes processing idempotent: an
/// input already delivered (same inbox, name and content) is not processed again, and a claim found in the
/// processing area after a crash is finished exactly once. Compacted at start (latest record per job).
public final class Ledger: Sendable {
    public let url: URL
    private struct State {
        var fd: Int32
        var byJob: [String: LedgerRecord] = [:]
        var deliveredByContent: [String: LedgerRecord] = [:]
    }
    private let state: Mutex<State>

    /// Opens (creating) the ledger, reads it and rewrites it compacted.
    public init(url: URL) throws(SystemError) {
        self.url = url
        var records: [String: LedgerRecord] = [:]
        var order: [String] = []
        if let data = try? Data(contentsOf: url) {
            let decoder = Self.decoder
            for line in data.split(separator: UInt8(ascii: "\n")) {
                guard let record = try? decoder.decode(LedgerRecord.self, from: Data(line)) else {
                    Journal.warning("\(url.path): skipping an unreadable ledger line (torn write from a crash?)")
                    continue
                }
                if records[record.job] == nil { order.append(record.job) }
                // A job may have several `delivering` records (collisions) but `delivered` is final.
                if records[record.job]?.kind != .delivered { records[record.job] = record }
            }
        }
        var compacted = Data()
        let encoder = Self.encoder
        for job in order {
            guard let record = records[job], let line = try? encoder.encode(record) else { continue }
            compacted.append(line)
            compacted.append(UInt8(ascii: "\n"))
        }
        try FileOps.replaceAtomically(url.path, compacted)
        let fd = open(url.path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw SystemError("open", path: url.path) }
        var initial = State(fd: fd)
        for record in records.values {
            initial.byJob[record.job] = record
            if record.kind == .delivered { initial.deliveredByContent[Self.contentKey(record.inbox, record.name, record.hash)] = record }
        }
        state = Mutex(initial)
    }

    deinit { state.withLock { _ = close($0.fd) } }

    public func append(_ record: LedgerRecord) throws(SystemError) {
        guard var line = try? Self.encoder.encode(record) else { throw SystemError("encode", path: url.path, code: EINVAL) }
        line.append(UInt8(ascii: "\n"))
        let path = url.path
        let result: SystemError? = state.withLock { state in
            let ok = line.withUnsafeBytes { raw -> Bool in
                var offset = 0
                while offset < raw.count {
                    let n = write(state.fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 { if errno == EINTR { continue }; return false }
                    offset += n
                }
                return true
            }
            guard ok else { return SystemError("write", path: path) }
            guard fsync(state.fd) == 0 else { return SystemError("fsync", path: path) }
            state.byJob[record.job] = record
            if record.kind == .delivered {
                state.deliveredByContent[Self.contentKey(record.inbox, record.name, record.hash)] = record
            }
            return nil
        }
        if let result { throw result }
    }

    /// The latest record of a claim.
    public func record(job: String) -> LedgerRecord? { state.withLock { $0.byJob[job] } }

    /// The delivery of an input with this inbox, name and content, if one happened.
    public func delivered(inbox: String, name: String, hash: String) -> LedgerRecord? {
        state.withLock { $0.deliveredByContent[Self.contentKey(inbox, name, hash)] }
    }

    public var deliveredCount: Int { state.withLock { $0.deliveredByContent.count } }

    private static func contentKey(_ inbox: String, _ name: String, _ hash: String) -> String { "\(inbox)\u{0}\(name)\u{0}\(hash)" }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
