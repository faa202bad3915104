import Foundation

/// One claimed input: a file renamed into an inbox's processing area as `<id>_<original name>`.
public struct Job: Sendable, Equatable {
    public var id: String
    public var originalName: String
    public var inbox: InboxConfiguration
    /// How many times it was tried (transient failures).
    public var attempt: Int = 0

    public var claimedPath: String { inbox.processingDirectory.appendingPathComponent("\(id)_\(originalName)").path }

    /// The temp file in the outbox the processor writes; a dot name so that no scanner takes it.
    public var temporaryOutputPath: String { inbox.outbox.appendingPathComponent(".n2spd-\(id).tmp").path }

    public init(id: String, originalName: String, inbox: InboxConfiguration, attempt: Int = 0) {
        self.id = id
        self.originalName = originalName
        self.inbox = inbox
        self.attempt = attempt
    }

    /// Parses a processing-area file name back into its job id and original name.
    public static func parse(claimedName: String) -> (id: String, originalName: String)? {
        guard let cut = claimedName.firstIndex(of: "_") else { return nil }
        let id = String(claimedName[..<cut]), name = String(claimedName[claimedName.index(after: cut)...])
        guard id.hasPrefix("j"), !name.isEmpty else { return nil }
        return (id, name)
    }
}

/// Unique, sortable claim ids: `j<time in µs, base 36>-<pid>-<counter>`; no `_` (the separator).
final class JobIDGenerator: @unchecked Sendable {
    private var counter = 0
    private let lock = NSLock()

    func next() -> String {
        lock.lock(); defer { lock.unlock() }
        counter += 1
        let micros = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        return "j\(String(micros, radix: 36))-\(getpid())-\(counter)"
    }
}
