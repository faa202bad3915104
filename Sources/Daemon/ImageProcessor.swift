import Foundation

/// The daemon's only door to image and numeric work. The daemon decides *which* file, *where* the result
/// goes and *when*; an `ImageProcessor` turns one input file into one output file. The real one wraps the
/// image codecs + inference engine; tests use doubles that transform bytes.
///
/// Implementations must be safe to call from several worker threads at once (one image per call), and must
/// throw `ProcessingFailure` so the daemon can tell a bad image (to `failed/`) from a passing condition (retry).
public protocol ImageProcessor: Sendable {
    /// Identifies the model: the registry version (`v0003`, or `base` for the configured model) and the
    /// SHA-256 of its weights, recorded in the ledger, the outputs' provenance and error sidecars.
    var model: ModelIdentity { get }

    /// Reads `input` (a regular file the daemon has claimed and size-checked), writes the denoised image to
    /// `output` (a new file path in the outbox that the daemon will fsync and rename into place) and says
    /// what it wrote. Must not touch any other path.
    func process(input: URL, output: URL, request: ProcessingRequest) throws(ProcessingFailure) -> ProcessedOutput
}

/// What the daemon tells the processor about one job.
public struct ProcessingRequest: Sendable, Equatable {
    /// The input's original file name (the claimed file has a different name in the processing area).
    public var originalName: String
    /// SHA-256 of the input bytes (for provenance written into the output).
    public var inputHash: String
    public var maxPixels: Int
    public var memoryBudgetBytes: Int64
    /// Provenance the processor should embed (PNG text chunk / JPEG comment), beside its own (normalization, tiling).
    public var provenance: [String: String]

    public init(originalName: String, inputHash: String, maxPixels: Int, memoryBudgetBytes: Int64, provenance: [String: String]) {
        self.originalName = originalName
        self.inputHash = inputHash
        self.maxPixels = maxPixels
        self.memoryBudgetBytes = memoryBudgetBytes
        self.provenance = provenance
    }
}

/// What the processor wrote.
public struct ProcessedOutput: Sendable, Equatable {
    /// The output's file extension without the dot (`png`, `jpg`); the daemon names the delivered file
    /// `<input stem>.<fileExtension>`.
    public var fileExtension: String
    /// Everything worth recording about how the output was made (model, normalization statistics,
    /// tiling …); goes to the optional JSON sidecar and the ledger.
    public var provenance: [String: String]

    public init(fileExtension: String, provenance: [String: String] = [:]) {
        self.fileExtension = fileExtension
        self.provenance = provenance
    }
}

/// Why processing failed, split by what the daemon should do about it.
public enum ProcessingFailure: Error, Equatable, CustomStringConvertible {
    /// The input itself is unusable (not an image, truncated, bad CRC, too many pixels …): it goes to
    /// `failed/` with this reason and is never retried.
    case rejected(String)
    /// A condition that may pass (disk full, I/O error, out of memory): retried with back-off.
    case transient(String)

    public var description: String {
        switch self {
        case .rejected(let reason): reason
        case .transient(let reason): "\(reason) (transient)"
        }
    }

    public var reason: String {
        switch self { case .rejected(let reason), .transient(let reason): reason }
    }
}

/// A model as the daemon refers to it.
public struct ModelIdentity: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Registry version (`v0001` …), `base` for the configured model, or a label for inbox overrides.
    public var version: String
    /// SHA-256 of the model file(s), hex.
    public var hash: String
    public var path: String

    public init(version: String, hash: String, path: String) {
        self.version = version
        self.hash = hash
        self.path = path
    }

    public var description: String { "\(version) (\(hash.prefix(12)))" }
}

/// Makes processors for models. The daemon asks for a new processor whenever the current model changes
/// (promotion, rollback, reload); jobs keep the processor they started with, so in-flight images finish
/// on their model (hot swap).
public protocol ImageProcessorFactory: Sendable {
    /// Loads the model at `path` (nil: the processor's built-in default model). May take long: the daemon
    /// extends its start timeout with systemd meanwhile.
    func makeProcessor(modelPath: URL?, version: String) throws -> any ImageProcessor
}
