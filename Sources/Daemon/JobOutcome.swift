import Foundation

/// How a job ended, reported by a worker to the main loop.
public enum JobOutcome: Sendable, Equatable {
    /// Output delivered at `output`; the input went to done/ or was deleted.
    case delivered(output: String, model: String)
    /// Same inbox, name and content were delivered before (ledger): no new output, input finished.
    case alreadyDelivered(output: String)
    /// The input is unusable: moved to failed/ with a sidecar.
    case failed(reason: String)
    /// A passing condition: the claim stays in the processing area; retry later.
    case retry(reason: String)
}

/// The `<name>.error.json` sidecar beside a failed input.
public struct FailureRecord: Codable, Sendable, Equatable {
    public var input: String
    public var inbox: String
    public var reason: String
    public var time: Date
    public var attempts: Int
    public var daemonVersion: String
    public var modelVersion: String?
    public var modelHash: String?
}
