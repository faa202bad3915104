import Foundation

/// The daemon's state as written to `<state>/status.json` and read by `n2sp status`.
public struct DaemonStatus: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable { case starting, ready, reloading, stopping, stopped }

    public struct Inbox: Codable, Sendable, Equatable {
        public var name: String
        public var path: String
        public var outbox: String
        /// Files waiting: seen but not settled yet, claimed and waiting for a worker, or waiting to retry.
        public var queued: Int
        public var inFlight: Int
        public var processed: Int
        public var failed: Int
        public var lastError: String?
        public var lastErrorTime: Date?
        public var model: String
    }

    public struct FineTune: Codable, Sendable, Equatable {
        /// `disabled`, `unavailable` (no trainer linked), `idle`, `running`.
        public var state: String
        public var imagesSinceLast: Int
        public var poolSize: Int
        public var step: Int?
        public var stepBudget: Int?
        public var lastResult: FineTuneOutcome?
    }

    public var pid: Int32
    public var daemonVersion: String
    public var phase: Phase
    public var startedAt: Date
    public var updatedAt: Date
    public var model: ModelIdentity?
    public var inboxes: [Inbox]
    public var fineTune: FineTune

    /// The one-line `STATUS=` summary for systemd.
    public var summary: String {
        let queued = inboxes.reduce(0) { $0 + $1.queued + $1.inFlight }
        let done = inboxes.reduce(0) { $0 + $1.processed }
        let failed = inboxes.reduce(0) { $0 + $1.failed }
        var line = "queue \(queued), done \(done), failed \(failed), model \(model?.version ?? "none")"
        if fineTune.state == "running", let step = fineTune.step, let budget = fineTune.stepBudget {
            line += ", fine-tuning \(step)/\(budget)"
        } else if let last = fineTune.lastResult {
            line += ", last fine-tune \(last.promoted ? "promoted \(last.version ?? "?")" : "rejected")"
        }
        return line
    }

    public static func fileURL(stateDirectory: URL) -> URL { stateDirectory.appendingPathComponent("status.json") }

    public static func read(stateDirectory: URL) throws -> DaemonStatus {
        let data = try Data(contentsOf: fileURL(stateDirectory: stateDirectory))
        return try Ledger.decoder.decode(DaemonStatus.self, from: data)
    }

    func write(stateDirectory: URL) throws(SystemError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(self) else { return }
        try FileOps.replaceAtomically(Self.fileURL(stateDirectory: stateDirectory).path, data)
    }
}
