/// Everything that can go wrong with an image file. Each case names the file and the reason, so a daemon's
/// `failed/` sidecar or the CLI's summary can show it as is.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(path: String)
    case isDirectory(path: String)
    /// Not a regular file (FIFO, device, socket …): reading it could block or never end.
    case notRegularFile(path: String)
    case unreadable(path: String, reason: String)
    case emptyFile(path: String)
    case fileTooLarge(path: String, bytes: Int64, limit: Int64)
    /// Neither the PNG nor the JPEG signature.
    case notAnImage(path: String)
    case truncated(path: String, detail: String)
    /// A PNG chunk whose CRC does not match its contents.
    case badChecksum(path: String, detail: String)
    case corrupt(path: String, detail: String)
    /// The header's dimensions exceed `ImageLimits` (checked before any pixel buffer is allocated).
    case tooLarge(path: String, detail: String)
    case unsupported(path: String, reason: String)
    /// The file changed between reading its header and its pixels.
    case changedWhileReading(path: String)
    case writeFailed(path: String, reason: String)
    /// The output name is taken and the policy forbids choosing another (outputs are never replaced).
    case outputExists(path: String)
    case denoiserFailed(path: String, reason: String)
    /// The caller stopped the work (progress callback returned false); nothing was written.
    case cancelled(path: String)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .notFound(let p), .isDirectory(let p), .notRegularFile(let p), .emptyFile(let p), .notAnImage(let p),
            .changedWhileReading(let p), .outputExists(let p), .cancelled(let p):
            p
        case .unreadable(let p, _), .truncated(let p, _), .badChecksum(let p, _), .corrupt(let p, _),
            .tooLarge(let p, _), .unsupported(let p, _), .writeFailed(let p, _), .denoiserFailed(let p, _):
            p
        case .fileTooLarge(let p, _, _):
            p
        }
    }

    /// The reason without the path.
    public var reason: String {
        switch self {
        case .notFound: "no such file"
        case .isDirectory: "is a directory, not an image file"
        case .notRegularFile: "is not a regular file"
        case .unreadable(_, let why): "cannot be read: \(why)"
        case .emptyFile: "is empty (0 bytes)"
        case .fileTooLarge(_, let bytes, let limit):
            "is \(bytes) bytes, more than the limit of \(limit) bytes (raise it with the file-size limit)"
        case .notAnImage: "is not a PNG or JPEG file (unknown signature)"
        case .truncated(_, let d): "is truncated: \(d)"
        case .badChecksum(_, let d): "is damaged (checksum mismatch): \(d)"
        case .corrupt(_, let d): "is corrupt: \(d)"
        case .tooLarge(_, let d): "is too large: \(d) (raise the pixel limit if this is intended)"
        case .unsupported(_, let why): "is not supported: \(why)"
        case .changedWhileReading: "changed while it was being read"
        case .writeFailed(_, let why): "could not be written: \(why)"
        case .outputExists: "already exists and is never replaced"
        case .denoiserFailed(_, let why): "could not be denoised: \(why)"
        case .cancelled: "was not finished: denoising was cancelled"
        }
    }

    public var description: String { "\(path): \(reason)" }
}
