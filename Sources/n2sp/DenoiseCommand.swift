import ArgumentParser
import CheckpointImport
import Denoiser
import Foundation

/// `n2sp denoise`: denoise image files with a model, writing new files next to nothing they could replace.
struct DenoiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "denoise",
        abstract: "Denoise PNG and JPEG files with a Noise2Same model.",
        discussion: """
            Inputs are files or folders; a folder contributes its .png/.jpg/.jpeg files (not its subfolders \
            unless --recursive). A file's format is read from its content, not its name.

            Each output keeps its input's format, bit depth and channels: 16-bit stays 16-bit, alpha is copied \
            unchanged, palette PNGs become RGB(A) 8-bit PNGs, JPEGs are re-encoded at quality 95 (4:4:4). \
            Denoised values are clipped to the sample range and rounded half away from zero. A 1-channel \
            model denoises each colour channel of an RGB image independently.

            Outputs are named <name><suffix>.<ext> in the output folder. Existing files are never replaced: \
            with --overwrite never (the default) the next free name is used (<name>-denoised-2.png, -3, …); \
            with --overwrite fail the file fails instead. Each output carries provenance (model, its SHA-256, \
            input SHA-256, normalisation statistics, tiling, time) in PNG text chunks or a JPEG comment.

            Without --model, models/default.safetensors is looked up under the install prefix \
            (<prefix>/share/n2spd/models, <prefix>/models), the repository the binary was built in, and the \
            current folder.

            Exit status: 0 when every file was denoised, 1 when any failed (each is listed with its reason).

            Examples:
              n2sp denoise noisy/ -o clean/ --model bsd68.safetensors
              n2sp denoise scan.png photo.jpg -o out/ --model runs/bsd68/model.ckpt-80000 --compare
            """)

    @Argument(help: "Image files and/or folders.")
    var inputs: [String]

    @Option(name: [.short, .customLong("output")], help: "Output folder (created if missing).")
    var output: String

    @Option(help: "Model: an n2spd safetensors file or a TensorFlow 1.x checkpoint (prefix, .index or folder).")
    var model: String?

    @Option(help: "Memory budget of the engine in MB; larger images are tiled to fit (the result is identical).")
    var tileBudget: Int = 1024

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "Added to each output's name.")
    var suffix = "-denoised"

    @Flag(help: "Also write <name><suffix>-compare.png: before | after, side by side, 8-bit.")
    var compare = false

    @Option(help: "Existing files are never replaced. When the output name is taken: 'never' picks the next free name, 'fail' fails the file.")
    var overwrite: OutputConflictPolicy = .uniqueName

    @Flag(help: "Descend into subfolders of folder inputs.")
    var recursive = false

    @Option(help: "Refuse images with more pixels than this (megapixels).")
    var maxMegapixels: Int = ImageLimits.default.maxPixels / 1_000_000

    @Option(help: "Refuse files larger than this (MB).")
    var maxFileMB: Int = Int(ImageLimits.default.maxFileBytes >> 20)

    @Option(help: "JPEG output quality (1-100).")
    var jpegQuality = 95

    func validate() throws {
        guard tileBudget >= 16 else { throw ValidationError("--tile-budget must be at least 16 MB") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard (1...100).contains(jpegQuality) else { throw ValidationError("--jpeg-quality must be 1…100") }
        guard maxMegapixels >= 1, maxFileMB >= 1 else { throw ValidationError("limits must be positive") }
        guard !suffix.contains("/") else { throw ValidationError("--suffix must not contain '/'") }
    }

    func run() throws {
        let (files, problems) = ImageInputCollector.collect(inputs, recursive: recursive)
        guard !files.isEmpty || !problems.isEmpty else {
            throw ValidationError("no .png/.jpg/.jpeg files in \(inputs.joined(separator: ", "))")
        }

        let modelPath = try model ?? DefaultModel.find()
        let weights: ModelWeights
        do { weights = try ModelWeights.load(from: modelPath) } catch {
            throw CLIFailure("cannot load model \(modelPath): \(error)")
        }
        var engineOptions = EngineOptions(memoryBudget: tileBudget << 20)
        if let threads { engineOptions.threads = threads }
        let engine: InferenceEngine
        do { engine = try InferenceEngine(weights: weights, options: engineOptions) } catch {
            throw CLIFailure("cannot build the network from \(modelPath): \(error)")
        }

        let outputURL = URL(fileURLWithPath: output)
        do { try FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true) } catch {
            throw CLIFailure("cannot create the output folder \(output): \(error.localizedDescription)")
        }

        var pipeline = ImageDenoisingPipeline(denoiser: engine)
        pipeline.limits = ImageLimits(maxPixels: maxMegapixels * 1_000_000, maxFileBytes: Int64(maxFileMB) << 20)
        pipeline.suffix = suffix
        pipeline.conflictPolicy = overwrite
        pipeline.writeComparison = compare
        pipeline.writeOptions.jpegQuality = jpegQuality
        pipeline.writeOptions.provenance = modelProvenance(path: modelPath, weights: weights)

        log("model \(modelPath): \(weights.architecture)")
        let interrupt = Interrupt()
        let progress = Progress(total: files.count)
        var failures: [String] = problems.map(\.description)
        var denoised = 0
        var megapixels = 0.0
        let clock = ContinuousClock()
        let start = clock.now
        var stoppedAt: Int? = nil
        for (index, file) in files.enumerated() {
            if interrupt.requested {
                stoppedAt = index
                break
            }
            progress.begin(index: index, name: file.lastPathComponent)
            do {
                let r = try pipeline.process(file, into: outputURL) { done, total in
                    progress.step(done, of: total)
                    return !interrupt.requested
                }
                denoised += 1
                megapixels += Double(r.info.pixelCount) / 1e6
                let kind = "\(r.info.width)x\(r.info.height) \(r.info.colorChannels == 1 ? "gray" : "RGB")"
                    + "\(r.info.hasAlpha ? "+alpha" : "") \(r.info.bitDepth)-bit \(r.info.format)"
                progress.report("\(file.path) -> \(r.output.path) (\(kind), \(seconds(r.totalTime)) s: read \(seconds(r.readTime)), "
                                + "denoise \(seconds(r.denoiseTime)), write \(seconds(r.writeTime)))"
                                + (r.comparison.map { ", compare \($0.lastPathComponent)" } ?? ""), failed: false)
                if let problem = r.comparisonError { progress.report("warning: no comparison image: \(problem)", failed: true) }
            } catch {
                // Name the input even when the error is about the output (e.g. its name is taken).
                let line = error.path == file.path ? error.description : "\(file.path): \(error)"
                failures.append(line)
                progress.report("FAILED \(line)", failed: true)
            }
        }
        progress.done()
        if interrupt.requested {
            let skipped = files.count - (stoppedAt ?? files.count)
            log("interrupted: \(skipped) file\(skipped == 1 ? "" : "s") not started; no partial output was left behind")
        }

        let elapsed = clock.now - start
        log("denoised \(denoised) of \(files.count) file\(files.count == 1 ? "" : "s") in \(seconds(elapsed)) s"
            + (megapixels > 0 ? String(format: " (%.2f megapixels, %.2f s/megapixel)", megapixels,
                                       Double(elapsed.components.seconds) / megapixels
                                           + Double(elapsed.components.attoseconds) / 1e18 / megapixels) : ""))
        if !failures.isEmpty {
            log("\(failures.count) failed:")
            for f in failures { log("  \(f)") }
        }
        if interrupt.requested { throw ExitCode(130) }
        if !failures.isEmpty { throw ExitCode(1) }
    }

    /// Provenance shared by every output of this run.
    private func modelProvenance(path: String, weights: ModelWeights) -> [String: String] {
        var p: [String: String] = [
            "Software": "n2sp denoise",
            "n2sp.model": path,
            "n2sp.model.architecture": weights.architecture.description,
        ]
        if let step = weights.globalStep { p["n2sp.model.step"] = "\(step)" }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
           let digest = try? SHA256.hex(ofFileAt: URL(fileURLWithPath: path)) {
            p["n2sp.model.sha256"] = digest
        }
        for key in ["version", "source", "n2sp.version"] { if let v = weights.metadata[key] { p["n2sp.model.\(key)"] = v } }
        return p
    }
}

extension OutputConflictPolicy: ExpressibleByArgument {}

/// A fatal error with a message for the user (printed by ArgumentParser as "Error: …").
struct CLIFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Where `models/default.safetensors` may live when --model is not given.
enum DefaultModel {
    static let relative = "models/default.safetensors"

    static func candidates() -> [URL] {
        var result: [URL] = []
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let prefix = exe.deletingLastPathComponent().deletingLastPathComponent()  // <prefix>/bin/n2sp
        result.append(prefix.appendingPathComponent("share/n2spd").appendingPathComponent(relative))
        result.append(prefix.appendingPathComponent(relative))
        // A build tree: <repo>/.build/<triple>/<config>/n2sp → walk up to the folder holding Package.swift.
        var dir = exe.deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                result.append(dir.appendingPathComponent(relative))
                break
            }
            dir = dir.deletingLastPathComponent()
        }
        result.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(relative))
        var seen = Set<String>()
        return result.filter { seen.insert($0.standardizedFileURL.path).inserted }
    }

    static func find() throws -> String {
        let all = candidates()
        if let hit = all.first(where: { FileManager.default.fileExists(atPath: $0.path) }) { return hit.path }
        throw CLIFailure("no model given and no default model found (looked for \(all.map(\.path).joined(separator: ", "))); "
                         + "pass --model <file.safetensors or TF checkpoint>")
    }
}

/// Ctrl-C: the first stops after the current tile (the file in progress is abandoned before anything is
/// written, so no temp file is left), the summary is still printed and the exit status is 130; a second
/// Ctrl-C exits at once.
final class Interrupt: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private let source: DispatchSourceSignal

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [unowned self] in
            let n = self.lock.withLock { self.count += 1; return self.count }
            if n > 1 { exit(130) }
            log("\ninterrupted: stopping after the current tile (Ctrl-C again to quit now)")
        }
        source.resume()
    }

    var requested: Bool { lock.withLock { count > 0 } }
}

/// A progress bar on stderr when it is a terminal; plain lines otherwise (logs, CI, pipes).
final class Progress {
    private let total: Int
    private let isTTY = isatty(STDERR_FILENO) == 1
    private var current = 0
    private var name = ""

    init(total: Int) { self.total = total }

    func begin(index: Int, name: String) {
        current = index
        self.name = name
        if isTTY { draw(fraction: 0, detail: "") } else { write("[\(index + 1)/\(total)] \(name)\n") }
    }

    /// Work inside the current file (tiles, from the engine): moves the bar within the file's share.
    func step(_ done: Int, of units: Int) {
        guard isTTY, units > 1 else { return }
        draw(fraction: Double(done) / Double(units), detail: " (tile \(done)/\(units))")
    }

    private func draw(fraction: Double, detail: String) {
        let width = 30
        let position = total == 0 ? 1 : (Double(current) + fraction) / Double(total)
        let filled = min(width, Int(Double(width) * position))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        write("\r\u{1B}[K[\(bar)] \(current)/\(total) \(name)\(detail)")
    }

    /// Reports one finished file on its own line (the bar is redrawn by the next `begin`): successes on
    /// stdout (the list of outputs, for scripts), failures on stderr.
    func report(_ line: String, failed: Bool) {
        if isTTY { write("\r\u{1B}[K") }
        if failed {
            write("\(line)\n")
        } else {
            FileHandle.standardOutput.write(Data("\(line)\n".utf8))
        }
    }

    func done() {
        if isTTY { write("\r\u{1B}[K") }
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}

private func log(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

private func seconds(_ d: Duration) -> String {
    String(format: "%.2f", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
}
