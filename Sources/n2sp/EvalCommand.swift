import ArgumentParser
import CheckpointImport
import Denoiser
import Foundation
import Trainer

/// `n2sp eval`: PSNR / SSIM / time of a model on a noisy test set against its clean images, optionally after
/// transductive fine-tuning on the noisy test images themselves (what the daemon does with its inbox).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a model on noisy/clean image pairs (PSNR, 8-bit PSNR, SSIM, time per image).",
        discussion: """
            Pairs --noisy and --clean images by file stem. --noisy may be a folder with an index.json listing \
            float32 images (the shared/data/*-noisy25 layout: the unclipped reference protocol) or a folder of \
            PNG/JPEG files (e.g. bsd68-noisy25/png: what a user's 8-bit noisy files give).

            PSNR is psnr.py's: data range 255, the float output as computed (not clipped), mean of per-image \
            values; "8-bit" clips and rounds the output first (a saved PNG). SSIM: Gaussian 11×11, σ 1.5, \
            K1 0.01, K2 0.03, range 255, on the unclipped output.

            --finetune-steps 0,50,100,200 fine-tunes a copy of the model with the Noise2SamePro loss on patches \
            of the noisy test images (constant lr, the model's Adam state continued when it has one) and scores \
            it after each cumulative step budget.

            Examples:
              n2sp eval --noisy shared/data/bsd68-noisy25 --clean shared/data/BSD68
              n2sp eval --model m.safetensors --noisy shared/data/set12-noisy25/png --clean shared/data/Set12 --json
              n2sp eval --noisy shared/data/bsd68-noisy25 --clean shared/data/BSD68 --limit 8 --finetune-steps 0,50,100,200
            """)

    @Option(help: "Model (safetensors or TF checkpoint); default: models/default.safetensors.") var model: String?
    @Option(help: "Folder of noisy images (index.json + f32, or PNG/JPEG).") var noisy: String
    @Option(help: "Folder of clean images (PNG/JPEG), matched by file stem.") var clean: String
    @Flag(help: "Print the results as JSON instead of a table.") var json = false
    @Option(help: "Evaluate only the first N pairs (by name).") var limit: Int?
    @Option(name: .customLong("finetune-steps"), help: "Comma-separated cumulative fine-tuning step budgets (0 = the model as given).")
    var finetuneSteps = "0"
    @Option(name: .customLong("finetune-batch"), help: "Patches per fine-tuning step.") var finetuneBatch = 4
    @Option(name: .customLong("finetune-patch"), help: "Fine-tuning patch size.") var finetunePatch = 64
    @Option(name: .customLong("finetune-lr"), help: "Constant fine-tuning learning rate.") var finetuneLR: Float = 5e-5
    @Option(help: "Seed of the fine-tuning patch sampler.") var seed: UInt64 = 0
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("save-outputs"),
            help: "Write each denoised image here (<name>.f32 unclipped + <name>.png 8-bit; steps-<N>/ per budget when several).")
    var saveOutputs: String?

    func budgets() throws -> [Int] {
        let parts = finetuneSteps.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = try parts.map { part -> Int in
            guard let v = Int(part), v >= 0 else { throw ValidationError("--finetune-steps: '\(part)' is not a step count ≥ 0") }
            return v
        }
        guard !values.isEmpty else { throw ValidationError("--finetune-steps needs at least one value") }
        return Array(Set(values)).sorted()
    }

    func validate() throws {
        _ = try budgets()
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if finetuneBatch < 1 || finetunePatch < 4 { throw ValidationError("--finetune-batch ≥ 1 and --finetune-patch ≥ 4") }
    }

    func run() throws {
        let budgets = try budgets()
        let modelPath = try model ?? DefaultModel.find()
        let weights: ModelWeights
        do { weights = try ModelWeights.load(from: modelPath) } catch { throw CLIFailure("cannot load model \(modelPath): \(error)") }
        var dataset = try EvaluationDataset(noisy: URL(fileURLWithPath: noisy), clean: URL(fileURLWithPath: clean))
        if let limit { dataset.pairs = Array(dataset.pairs.prefix(limit)) }
        let images = try Evaluator.load(dataset.pairs)
        var engineOptions = EngineOptions()
        if let threads { engineOptions.threads = threads }
        log("model \(modelPath): \(weights.architecture), step \(weights.globalStep.map(String.init) ?? "?")")
        log("data  \(images.count) pairs (\(noisy) ↔ \(clean))"
            + (dataset.unmatched.isEmpty ? "" : "; \(dataset.unmatched.count) noisy images without a clean one skipped"))

        var results: [BudgetResult] = []
        var tuning: TransductiveFineTuning?
        if budgets.contains(where: { $0 > 0 }) {
            tuning = try TransductiveFineTuning(
                weights: weights, pairs: dataset.pairs, batch: finetuneBatch, patch: finetunePatch,
                learningRate: finetuneLR, seed: seed)
        }
        for budget in budgets {
            var current = weights
            var tuneSeconds = 0.0
            var losses: [Double] = []
            if let tuning, budget > 0 {
                let start = Date()
                losses = try tuning.advance(to: budget)
                tuneSeconds = Date().timeIntervalSince(start)
                current = tuning.weights
            }
            let engine = try InferenceEngine(weights: current, options: engineOptions)
            let outputFolder = saveOutputs.map { folder in
                budgets.count > 1 ? URL(fileURLWithPath: folder).appendingPathComponent("steps-\(budget)") : URL(fileURLWithPath: folder)
            }
            if let outputFolder { try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true) }
            let pairsByName = Dictionary(uniqueKeysWithValues: dataset.pairs.map { ($0.name, $0) })
            let score = try Evaluator.evaluate(images, engine: engine, output: outputFolder.map { folder in
                { image, denoised in try Self.write(denoised, name: image.name, like: pairsByName[image.name]!.clean, to: folder) }
            }, progress: { s in
                if !json { log(String(format: "  [%4d steps] %@  %.2f dB  (%.2fs)", budget, s.name, s.psnr, s.seconds)) }
            })
            results.append(BudgetResult(steps: budget, finetuneSeconds: tuneSeconds,
                                        finetuneLossFirst: losses.first, finetuneLossLast: losses.last, score: score))
        }

        let report = EvalReport(model: modelPath, architecture: weights.architecture.description,
                                modelStep: weights.globalStep, noisy: noisy, clean: clean,
                                finetune: budgets.contains(where: { $0 > 0 })
                                    ? .init(batch: finetuneBatch, patch: finetunePatch, learningRate: finetuneLR, seed: seed, loss: "noise2SamePro")
                                    : nil,
                                budgets: results)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(EvalTable.render(report))
        }
    }

    /// `<name>.f32` (unclipped float32, the psnr.py input) and `<name>.png` (8-bit, shaped like the clean file).
    static func write(_ image: FloatImage, name: String, like clean: URL, to folder: URL) throws {
        let raw = image.pixels.withUnsafeBufferPointer { Data(buffer: $0) }
        try raw.write(to: folder.appendingPathComponent(name + ".f32"))
        let template = try ImageCodec.read(clean)
        guard template.colorChannels == image.channels, template.width == image.width, template.height == image.height else { return }
        var png = template.replacingColor(with: image)
        png.format = .png
        try ImageCodec.write(png, to: folder.appendingPathComponent(name + ".png"), options: .init(fsync: false))
    }
}

/// The JSON of `n2sp eval --json`.
struct EvalReport: Codable {
    struct FineTuneSettings: Codable {
        var batch: Int
        var patch: Int
        var learningRate: Float
        var seed: UInt64
        var loss: String
        enum CodingKeys: String, CodingKey { case batch, patch, seed, loss; case learningRate = "learning_rate" }
    }
    var model: String
    var architecture: String
    var modelStep: Int64?
    var noisy: String
    var clean: String
    var finetune: FineTuneSettings?
    var budgets: [BudgetResult]
    enum CodingKeys: String, CodingKey {
        case model, architecture, noisy, clean, finetune, budgets
        case modelStep = "model_step"
    }
}

struct BudgetResult: Codable {
    var steps: Int
    var finetuneSeconds: Double
    var finetuneLossFirst: Double?
    var finetuneLossLast: Double?
    var score: SetScore
    enum CodingKeys: String, CodingKey {
        case steps, score
        case finetuneSeconds = "finetune_seconds"
        case finetuneLossFirst = "finetune_loss_first"
        case finetuneLossLast = "finetune_loss_last"
    }
}

/// Noise2SamePro fine-tuning of one model copy on the noisy test images, advanced budget by budget so that
/// budget N+M continues budget N (one trajectory, as a daemon fine-tuning round by round).
final class TransductiveFineTuning {
    let trainer: Trainer
    let sampler: PatchSampler
    let batch: Int
    /// The masking the model was trained with (donut or Gaussian), kept for fine-tuning.
    let replacement: MaskReplacement
    private(set) var stepsRun = 0

    init(weights: ModelWeights, pairs: [EvaluationPair], batch: Int, patch: Int, learningRate: Float, seed: UInt64) throws {
        let files = pairs.map { pair -> TrainingImageFile in
            switch pair.noisy {
            case .float32(let url, let h, let w, let c): TrainingImageFile(url: url, kind: .float32(height: h, width: w, channels: c))
            case .encoded(let url): TrainingImageFile(url: url, kind: .encoded)
            }
        }
        replacement = MaskReplacement.trainedWith(weights.metadata)
        var config = TrainingConfig(loss: .noise2SamePro, replacement: replacement)
        config.schedule = LearningRateSchedule(initial: learningRate, decaySteps: .max, decayRate: 1)
        trainer = try Trainer(weights: weights, config: config)
        sampler = PatchSampler(files: files, patchSize: patch, channels: weights.architecture.inputChannels, seed: seed)
        self.batch = batch
    }

    var weights: ModelWeights { trainer.weights }

    /// Runs steps until `budget` in all; returns the training losses of these steps.
    func advance(to budget: Int) throws -> [Double] {
        var losses: [Double] = []
        while stepsRun < budget {
            let b = try sampler.nextBatch(size: batch, noiseSigma: replacement.samplerNoiseSigma)
            losses.append(try trainer.step(batch: b).total)
            stepsRun += 1
        }
        return losses
    }
}

/// The terminal table of `n2sp eval`.
enum EvalTable {
    static func render(_ report: EvalReport) -> String {
        var lines: [String] = []
        let last = report.budgets.last!
        if report.budgets.count == 1 {
            lines.append(pad("image", 12) + pad("size", 10) + pad("noisy dB", 10) + pad("PSNR dB", 10) + pad("8-bit dB", 10)
                         + pad("SSIM", 8) + pad("time s", 8))
            for s in last.score.images {
                lines.append(pad(s.name, 12) + pad("\(s.width)×\(s.height)", 10) + num(s.noisyPSNR, 10, 2) + num(s.psnr, 10, 2)
                             + num(s.psnr8bit, 10, 2) + num(s.ssim, 8, 4) + num(s.seconds, 8, 2))
            }
            let m = last.score
            lines.append(pad("mean", 12) + pad("(\(m.images.count))", 10) + num(m.meanNoisyPSNR, 10, 3) + num(m.meanPSNR, 10, 3)
                         + num(m.meanPSNR8bit, 10, 3) + num(m.meanSSIM, 8, 4) + num(m.totalSeconds / Double(max(m.images.count, 1)), 8, 2))
        } else {
            lines.append(pad("ft steps", 10) + pad("PSNR dB", 10) + pad("gain dB", 10) + pad("8-bit dB", 10) + pad("SSIM", 8)
                         + pad("ft time s", 11) + pad("ft loss", 16))
            let base = report.budgets.first!.score.meanPSNR
            for b in report.budgets {
                let loss = b.finetuneLossFirst.map { String(format: "%.3f→%.3f", $0, b.finetuneLossLast!) } ?? "–"
                lines.append(pad("\(b.steps)", 10) + num(b.score.meanPSNR, 10, 3) + num(b.score.meanPSNR - base, 10, 3)
                             + num(b.score.meanPSNR8bit, 10, 3) + num(b.score.meanSSIM, 8, 4) + num(b.finetuneSeconds, 11, 1)
                             + pad(loss, 16))
            }
            lines.append("(\(last.score.images.count) images; noisy input \(String(format: "%.3f", last.score.meanNoisyPSNR)) dB; "
                         + "budgets are cumulative, one fine-tuning trajectory)")
        }
        return lines.joined(separator: "\n")
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }

    static func num(_ v: Double, _ width: Int, _ decimals: Int) -> String {
        pad(v.isFinite ? String(format: "%.\(decimals)f", v) : (v > 0 ? "inf" : "nan"), width)
    }
}

/// Progress goes to stderr so that stdout stays the table or the JSON.
private func log(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
