import CheckpointImport
import Denoiser
import Foundation
import Glibc

/// The real processor: image codecs + inference engine. Decodes the claimed file (caps checked on the
/// header, before any pixel buffer), runs `predictReporting`, writes the same format with provenance
/// (PNG text chunks / JPEG comment) to the daemon's temp file.
///
/// One engine per model, shared by the worker threads: `InferenceEngine.predict` serializes on its own
/// lock (its workspace is reused), so extra workers overlap decoding and encoding with inference.
public struct DenoisingProcessor: ImageProcessor {
    public let model: ModelIdentity
    let engine: InferenceEngine

    public init(engine: InferenceEngine, model: ModelIdentity) {
        self.engine = engine
        self.model = model
    }

    public func process(input: URL, output: URL, request: ProcessingRequest) throws(ProcessingFailure) -> ProcessedOutput {
        // The daemon already enforced max_file_size on the claimed file; the codec re-checks the header's pixels.
        let limits = ImageLimits(maxPixels: max(request.maxPixels, 1), maxFileBytes: Int64.max / 2)
        let decoded: DecodedImage
        do { decoded = try ImageCodec.read(input, limits: limits) } catch { throw Self.classify(error) }
        let denoised: FloatImage
        let report: PredictReport
        do { (denoised, report) = try engine.predictReporting(decoded.floatImage()) } catch {
            throw .rejected("could not be denoised: \(error)")
        }
        var provenance = request.provenance
        provenance["Software"] = "n2spd \(DaemonVersion.string)"
        provenance["n2sp.normalization"] = report.statistics
            .map { "mean=\(String(format: "%.6g", $0.mean)) std=\(String(format: "%.6g", $0.std))" }.joined(separator: "; ")
        provenance["n2sp.tiling"] = "padded \(report.paddedWidth)x\(report.paddedHeight), tile \(report.tileWidth)x\(report.tileHeight), "
            + "\(report.tilesPerPass) tile(s) x \(report.passes) pass(es)"
        provenance["n2sp.input.size"] = "\(decoded.width)x\(decoded.height)x\(decoded.channels) \(decoded.bitDepth)-bit"
        let options = ImageWriteOptions(fsync: true, provenance: provenance)
        do { try ImageCodec.write(decoded.replacingColor(with: denoised), to: output, format: decoded.format, options: options) } catch {
            throw Self.classify(error)
        }
        let originalExtension = (request.originalName as NSString).pathExtension
        let ext = ImageFormat(pathExtension: originalExtension) == decoded.format ? originalExtension : decoded.format.preferredExtension
        provenance["denoise.seconds"] = String(format: "%.3f", report.seconds)
        return ProcessedOutput(fileExtension: ext, provenance: provenance)
    }

    /// Bad bytes are the image's fault (to failed/); failing to read or write the disk is not (retry).
    static func classify(_ error: ImageError) -> ProcessingFailure {
        switch error {
        case .unreadable, .writeFailed, .notFound, .changedWhileReading: .transient(error.reason)
        default: .rejected(error.reason)
        }
    }
}

/// Loads models (safetensors or TF checkpoints) into engines.
public struct DenoisingProcessorFactory: ImageProcessorFactory {
    public var engineOptions: EngineOptions

    public init(engineOptions: EngineOptions = EngineOptions()) {
        self.engineOptions = engineOptions
    }

    public func makeProcessor(modelPath: URL?, version: String) throws -> any ImageProcessor {
        guard let path = modelPath ?? Self.bundledModel() else {
            throw ModelLoadError.noModel(searched: Self.bundledModelCandidates().map(\.path))
        }
        let weights: ModelWeights
        do { weights = try ModelWeights.load(from: path.path) } catch {
            throw ModelLoadError.unloadable(path: path.path, reason: "\(error)")
        }
        let engine = try InferenceEngine(weights: weights, options: engineOptions)
        return DenoisingProcessor(engine: engine, model: ModelIdentity(version: version, hash: try Self.hash(of: path), path: path.path))
    }

    /// The model installed with the binaries (`make install`): `$N2SPD_DEFAULT_MODEL`, then
    /// `<prefix>/share/n2spd/default.safetensors` beside the executable's `bin/`, then /usr/share.
    public static func bundledModelCandidates() -> [URL] {
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment["N2SPD_DEFAULT_MODEL"], !override.isEmpty {
            candidates.append(URL(fileURLWithPath: override))
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates.append(executable.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("share/n2spd/default.safetensors"))
        candidates.append(URL(fileURLWithPath: "/usr/local/share/n2spd/default.safetensors"))
        candidates.append(URL(fileURLWithPath: "/usr/share/n2spd/default.safetensors"))
        return candidates
    }

    static func bundledModel() -> URL? { bundledModelCandidates().first { FileManager.default.fileExists(atPath: $0.path) } }

    /// SHA-256 of a model file, or of a TF checkpoint folder's `.index` and data files in name order.
    static func hash(of path: URL) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
            // A TF checkpoint prefix (`…/model.ckpt-3`): hash its index.
            return try FileDigest.sha256(file: path.path + ".index")
        }
        if !isDirectory.boolValue { return try FileDigest.sha256(file: path.path) }
        let names = try FileManager.default.contentsOfDirectory(atPath: path.path)
            .filter { $0.hasSuffix(".index") || $0.contains(".data-") }.sorted()
        var combined = SHA256()
        for name in names { combined.update(Array(try FileDigest.sha256(file: path.appendingPathComponent(name).path).utf8)) }
        return combined.finalize()
    }
}

public enum ModelLoadError: Error, CustomStringConvertible {
    case noModel(searched: [String])
    case unloadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .noModel(let searched):
            "no model given and no bundled model found (looked at \(searched.joined(separator: ", "))); pass --model or set `model` in the config"
        case .unloadable(let path, let reason): "cannot load the model \(path): \(reason)"
        }
    }
}
