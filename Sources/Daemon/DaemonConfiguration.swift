import Foundation

/// Everything `n2spd` is told by its TOML file (or by its command-line flags for a single inbox).
/// Every key and its default is documented in `config/n2spd.example.toml`; keep the two in step.
public struct DaemonConfiguration: Sendable, Equatable {
    /// Where the config came from (`nil` for the command-line single-inbox mode); reloads re-read it.
    public var sourceFile: URL?
    public var stateDirectory: URL
    /// The default model for every inbox without its own `model`; fine-tuning starts from it.
    /// `nil` means "the processor's built-in default" (the bundled model when installed).
    public var model: URL?
    public var inboxes: [InboxConfiguration]
    public var workerThreads: Int
    /// Upper bound on the memory the image pipeline may plan for one image (tiling decisions).
    public var memoryBudgetBytes: Int64
    /// Images with more pixels (width × height) than this fail without being decoded further.
    public var maxPixels: Int
    /// Files larger than this fail before they are opened by a decoder.
    public var maxFileSizeBytes: Int64
    /// A file found by a scan or closed after writing must keep its size and mtime this long before it is taken.
    public var settleTime: Double
    /// Full rescan of every inbox at this interval (seconds): the fallback when inotify is blind (network mounts).
    public var rescanInterval: Double
    /// On SIGTERM, how long to wait for in-flight images before leaving them to the next start.
    public var stopTimeout: Double
    /// Transient failures (ENOSPC, EIO, …) are retried this many times with exponential back-off.
    public var transientRetries: Int
    /// First back-off delay (seconds); doubles per retry, capped at 5 minutes.
    public var retryBackoff: Double
    /// Also write `<output>.json` with the provenance of each output.
    public var provenanceSidecar: Bool
    public var logLevel: LogLevel
    public var fineTune: FineTunePolicy

    public init(
        sourceFile: URL? = nil, stateDirectory: URL, model: URL? = nil, inboxes: [InboxConfiguration],
        workerThreads: Int = Defaults.workerThreads, memoryBudgetBytes: Int64 = Defaults.memoryBudgetBytes,
        maxPixels: Int = Defaults.maxPixels, maxFileSizeBytes: Int64 = Defaults.maxFileSizeBytes,
        settleTime: Double = Defaults.settleTime, rescanInterval: Double = Defaults.rescanInterval,
        stopTimeout: Double = Defaults.stopTimeout, transientRetries: Int = Defaults.transientRetries,
        retryBackoff: Double = Defaults.retryBackoff, provenanceSidecar: Bool = false,
        logLevel: LogLevel = .info, fineTune: FineTunePolicy = FineTunePolicy()
    ) {
        self.sourceFile = sourceFile
        self.stateDirectory = stateDirectory
        self.model = model
        self.inboxes = inboxes
        self.workerThreads = workerThreads
        self.memoryBudgetBytes = memoryBudgetBytes
        self.maxPixels = maxPixels
        self.maxFileSizeBytes = maxFileSizeBytes
        self.settleTime = settleTime
        self.rescanInterval = rescanInterval
        self.stopTimeout = stopTimeout
        self.transientRetries = transientRetries
        self.retryBackoff = retryBackoff
        self.provenanceSidecar = provenanceSidecar
        self.logLevel = logLevel
        self.fineTune = fineTune
    }

    /// The documented defaults (also in `config/n2spd.example.toml`).
    public enum Defaults {
        public static let configFile = URL(fileURLWithPath: "/etc/n2spd/n2spd.toml")
        public static let stateDirectory = URL(fileURLWithPath: "/var/lib/n2spd")
        public static let workerThreads = 1
        /// 1 GiB, as `n2sp`: a 4096² image through the paper-size model then peaks at ≈ 1.26 GB RSS (BENCHMARKS.md).
        public static let memoryBudgetBytes: Int64 = 1 << 30
        public static let maxPixels = 64_000_000
        public static let maxFileSizeBytes: Int64 = 512 << 20
        public static let settleTime = 2.0
        public static let rescanInterval = 60.0
        public static let stopTimeout = 30.0
        public static let transientRetries = 6
        public static let retryBackoff = 1.0
        public static let patterns = ["*.png", "*.PNG", "*.jpg", "*.JPG", "*.jpeg", "*.JPEG"]
    }

    /// `<state>/inboxes/<name>/done` — the default when an inbox names no `done` folder.
    public func defaultDoneDirectory(forInboxNamed name: String) -> URL {
        stateDirectory.appendingPathComponent("inboxes").appendingPathComponent(name).appendingPathComponent("done")
    }

    /// The same configuration with another state directory; done/failed folders that were the defaults
    /// inside the old state directory move with it (`--state-dir` with `--config`).
    public func relocatingState(to state: URL) -> DaemonConfiguration {
        var copy = self
        copy.stateDirectory = state
        for index in copy.inboxes.indices {
            let name = copy.inboxes[index].name
            if copy.inboxes[index].doneDirectory == defaultDoneDirectory(forInboxNamed: name) {
                copy.inboxes[index].doneDirectory = copy.defaultDoneDirectory(forInboxNamed: name)
            }
            if copy.inboxes[index].failedDirectory == defaultFailedDirectory(forInboxNamed: name) {
                copy.inboxes[index].failedDirectory = copy.defaultFailedDirectory(forInboxNamed: name)
            }
        }
        return copy
    }

    public func defaultFailedDirectory(forInboxNamed name: String) -> URL {
        stateDirectory.appendingPathComponent("inboxes").appendingPathComponent(name).appendingPathComponent("failed")
    }
}

/// One watched folder and where its results go.
public struct InboxConfiguration: Sendable, Equatable {
    /// Short unique name (status, default done/failed folders); defaults to the inbox folder's last component.
    public var name: String
    public var path: URL
    public var outbox: URL
    public var doneDirectory: URL
    public var failedDirectory: URL
    public var onSuccess: SuccessPolicy
    /// Shell globs (fnmatch) a file name must match to be taken; dotfiles, `*.part` and `*.tmp` never are.
    public var patterns: [String]
    /// This inbox's own model instead of the daemon's; such inboxes do not feed fine-tuning.
    public var model: URL?
    /// Whether accepted inputs join the fine-tuning pool.
    public var feedsTrainingPool: Bool

    public init(
        name: String, path: URL, outbox: URL, doneDirectory: URL, failedDirectory: URL,
        onSuccess: SuccessPolicy = .move, patterns: [String] = DaemonConfiguration.Defaults.patterns,
        model: URL? = nil, feedsTrainingPool: Bool = true
    ) {
        self.name = name
        self.path = path
        self.outbox = outbox
        self.doneDirectory = doneDirectory
        self.failedDirectory = failedDirectory
        self.onSuccess = onSuccess
        self.patterns = patterns
        self.model = model
        self.feedsTrainingPool = feedsTrainingPool
    }

    /// The claim area: inside the inbox so that the claiming `rename(2)` never crosses a file system.
    /// A dot name, so scans and inotify ignore it.
    public var processingDirectory: URL { path.appendingPathComponent(".n2spd-processing") }
}

/// What happens to an input once its output is delivered.
public enum SuccessPolicy: String, Sendable, Equatable, CaseIterable {
    /// Move it to the done folder.
    case move
    /// Delete it (the ledger still remembers its hash and output).
    case delete
}

public enum LogLevel: Int, Sendable, Equatable, Comparable, CaseIterable {
    // journald/syslog priorities
    case error = 3, warning = 4, notice = 5, info = 6, debug = 7

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    public init?(name: String) {
        switch name {
        case "error": self = .error
        case "warning": self = .warning
        case "notice": self = .notice
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }
}

/// When and how the daemon fine-tunes its default model on what it has seen.
public struct FineTunePolicy: Sendable, Equatable {
    public var enabled: Bool
    /// Start a fine-tune after this many newly accepted images (0 = never by count).
    public var everyImages: Int
    /// … or when this many hours have passed since the last one and there is new data (0 = never by time).
    public var everyHours: Double
    /// Optimizer steps per fine-tune.
    public var stepBudget: Int
    /// Fraction of the pool held out for the promotion gate's validation loss.
    public var heldOutFraction: Double
    public var poolMaxFiles: Int
    public var poolMaxBytes: Int64
    /// Pool entries older than this are dropped (0 = no age limit).
    public var poolMaxAgeDays: Double
    /// Model versions kept in `<state>/models` (the current one is always kept).
    public var keepModels: Int

    public init(
        enabled: Bool = true, everyImages: Int = 200, everyHours: Double = 24, stepBudget: Int = 200,
        heldOutFraction: Double = 0.2, poolMaxFiles: Int = 1000, poolMaxBytes: Int64 = 2 << 30,
        poolMaxAgeDays: Double = 30, keepModels: Int = 5
    ) {
        self.enabled = enabled
        self.everyImages = everyImages
        self.everyHours = everyHours
        self.stepBudget = stepBudget
        self.heldOutFraction = heldOutFraction
        self.poolMaxFiles = poolMaxFiles
        self.poolMaxBytes = poolMaxBytes
        self.poolMaxAgeDays = poolMaxAgeDays
        self.keepModels = keepModels
    }
}
