import ArgumentParser
import CheckpointImport
import Denoiser
import Dispatch
import Foundation
import Trainer

/// `n2sp train`: Noise2Same / Noise2SamePro training on a folder of noisy images.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a denoiser on noisy images (Noise2Same, then optionally Noise2SamePro).",
        discussion: """
            Runs --steps training steps; the last --pro-steps of them use the Noise2SamePro loss \
            (rec + 2·√rec·√inv), the others Noise2Same (rec + λ·√inv), continuing the same weights, \
            batch-norm statistics, Adam state and step counter (the Noise2SamePro recipe: 8000 steps, 500 Pro).

            Data: a folder of PNG/JPEG images, or a folder with an index.json listing float32 images (the \
            layout of shared/data/bsd68-noisy25). Images are read lazily; each is z-scored on its own; patches \
            are random crops with a random one of the 8 rotations/flips, masked one pixel per 14×14 box.

            Start from scratch (Glorot-uniform init; --depth/--filters/--channels), or --from a model \
            (safetensors or a TF checkpoint; its Adam state and step are continued when present). A checkpoint \
            is written to -o every --checkpoint-every steps, at the end, and on SIGINT/SIGTERM; --resume \
            continues it exactly (same batches as an uninterrupted run with the same seed).

            Examples:
              n2sp train --data shared/data/bsd68-noisy25 --steps 8000 --pro-steps 500 -o bsd68.safetensors
              n2sp train --data noisy/ --val val/ --from bsd68.safetensors --steps 500 --pro-steps 500 -o tuned.safetensors
              n2sp train --data noisy/ --steps 8000 -o bsd68.safetensors --resume
            """)

    @Option(help: "Folder of training images.") var data: String
    @Option(help: "Folder of validation images (whole images, eval-mode loss at every checkpoint).") var val: String?
    @Option(help: "Training steps in this run (T); a resumed run keeps its own.") var steps: Int?
    @Option(help: "How many of the last steps use the Noise2SamePro loss (a).") var proSteps = 0
    @Option(help: "Start from this model (safetensors or TF checkpoint) instead of from scratch.") var from: String?
    @Option(help: "Patches per batch.") var batch = 4
    @Option(help: "Patch size (square; a multiple of 2^(depth-1)).") var patch = 64
    @Option(help: "λ of the Noise2Same loss (the BSD68 notebook uses 0.95 with donut masking).") var lambda: Float = 2
    @Option(help: "Replacement of masked pixels: gaussian (σ 0.2) or donut.") var masking = "gaussian"
    @Option(help: "Random seed (sampling, masks, noise, initialization).") var seed: UInt64 = 0
    @Option(help: "Initial learning rate (halved every --lr-decay-steps steps).") var learningRate: Float = 4e-4
    @Option(name: .customLong("lr-decay-steps"), help: "Halve the learning rate every N global steps (the reference: 5000 of 80k).")
    var lrDecaySteps: Int64 = 5000
    @Option(help: "U-Net depth (from scratch only).") var depth: Int?
    @Option(help: "Base filters (from scratch only; the paper uses 96).") var filters: Int?
    @Option(help: "Image channels (from scratch only).") var channels: Int?
    @Option(name: [.short, .customLong("output")], help: "The model file to write (safetensors).") var output: String
    @Flag(help: "Continue the run saved in the output file.") var resume = false
    @Flag(help: "Replace an existing output file (without --resume).") var force = false
    @Option(help: "Write a checkpoint every N steps.") var checkpointEvery = 1000
    @Option(name: .customLong("keep-phase-one"),
            help: "Also save the model as it is when the Noise2Same phase ends (before the first Noise2SamePro step) to this file.")
    var keepPhaseOne: String?

    func validate() throws {
        if from != nil || resume, depth != nil || filters != nil || channels != nil {
            throw ValidationError("--depth/--filters/--channels only apply when training from scratch (no --from or --resume)")
        }
        if resume && from != nil { throw ValidationError("--resume continues the output file; do not combine it with --from") }
        if !resume && steps == nil { throw ValidationError("--steps is required (except with --resume)") }
    }

    func run() throws {
        let outputURL = URL(fileURLWithPath: output)
        let trainingFiles = try TrainingImageSource.files(in: URL(fileURLWithPath: data))
        let validation = try val.map { folder in
            try TrainingImageSource.files(in: URL(fileURLWithPath: folder)).map { try $0.load() }
        } ?? []

        let trainingRun: TrainingRun
        if resume {
            guard FileManager.default.fileExists(atPath: output) else {
                throw ValidationError("--resume: \(output) does not exist; start the run without --resume")
            }
            trainingRun = try TrainingRun.resume(from: outputURL, training: trainingFiles, validation: validation)
            print("resuming      \(output) at step \(trainingRun.trainer.globalStep) of \(trainingRun.plan.targetStep)")
        } else {
            if FileManager.default.fileExists(atPath: output) && !force { throw OutputExists(path: output) }
            var plan = TrainingPlan(totalSteps: steps ?? 0)
            plan.proSteps = proSteps
            plan.batchSize = batch
            plan.patchSize = patch
            plan.lambda = lambda
            plan.masking = masking
            plan.seed = seed
            plan.learningRate = learningRate
            plan.learningRateDecaySteps = lrDecaySteps
            plan.checkpointEvery = checkpointEvery
            let weights: ModelWeights
            if let from {
                weights = try ModelWeights.load(from: from)
                print("starting from \(from) (step \(weights.globalStep.map(String.init) ?? "0"), \(weights.adam == nil ? "fresh Adam" : "its Adam state"))")
            } else {
                let architecture = ModelArchitecture(depth: depth ?? 3, baseFilters: filters ?? 96, inputChannels: channels ?? 1)
                weights = try ModelInitializer.glorotUniform(architecture, seed: seed)
                print("from scratch  Glorot-uniform, seed \(seed)")
            }
            try FileManager.default.createDirectory(at: outputURL.deletingLastPathComponent(), withIntermediateDirectories: true)
            trainingRun = try TrainingRun(weights: weights, plan: plan, training: trainingFiles, validation: validation, output: outputURL)
        }
        trainingRun.phaseOneOutput = keepPhaseOne.map { URL(fileURLWithPath: $0) }
        let plan = trainingRun.plan
        print("architecture  \(trainingRun.trainer.architecture) (\(grouped(trainingRun.trainer.architecture.trainableParameterCount)) parameters)")
        print("data          \(trainingFiles.count) images in \(data)\(validation.isEmpty ? "" : ", \(validation.count) validation images")")
        print("plan          \(plan.totalSteps) steps (\(plan.totalSteps - plan.proSteps) Noise2Same λ \(plan.lambda), \(plan.proSteps) Noise2SamePro), "
              + "batch \(plan.batchSize) × \(plan.patchSize)², \(plan.masking) masking, lr \(plan.learningRate) halved every \(plan.learningRateDecaySteps ?? 5000), seed \(plan.seed)")

        let signals = installStopHandlers(trainingRun.stop)
        defer { signals.forEach { $0.cancel() } }
        let interactive = isatty(STDOUT_FILENO) != 0
        let every = max(1, plan.totalSteps / 100)
        let summary = try trainingRun.run { p in
            let line = String(
                format: "step %lld/%lld  %@  loss %.4f  rec %.4f  inv %.4f  bsp %.4f  %.2f steps/s  ETA %@",
                p.globalStep, plan.targetStep, p.loss == .noise2SamePro ? "N2SP" : "N2S ", p.losses.total,
                p.losses.reconstruction, p.losses.invariance, p.losses.blindSpot, p.stepsPerSecond,
                duration(p.secondsRemaining))
            if interactive {
                print("\r" + line, terminator: p.checkpoint != nil ? "\n" : "")
                fflush(nil)
            } else if p.completedSteps % every == 0 || p.checkpoint != nil {
                print(line)
            }
            if let v = p.validation {
                print(String(format: "  validation (eval mode): loss %.4f  rec %.4f  inv %.4f  bsp %.4f",
                             v.total, v.reconstruction, v.invariance, v.blindSpot))
            }
            if p.checkpoint != nil { print("  checkpoint → \(output)") }
        }
        print(summary.stoppedEarly ? "stopped       at step \(summary.finalStep) of \(plan.targetStep) (resume with --resume)"
                                   : "finished      step \(summary.finalStep)")
        print(String(format: "time          %@ for %d steps (%.2f steps/s)", duration(summary.seconds), summary.stepsRun,
                     Double(summary.stepsRun) / max(summary.seconds, 1e-9)))
        if let first = summary.firstLosses, let last = summary.lastLosses {
            print(String(format: "loss          %.4f → %.4f (first → last step)", first.total, last.total))
        }
        if let v = summary.validation { print(String(format: "validation    %.4f (eval mode)", v.total)) }
        print("model         \(output)")
    }

    /// SIGINT/SIGTERM request a stop after the current step (which then writes a checkpoint).
    private func installStopHandlers(_ stop: StopRequest) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                stop.request()
                FileHandle.standardError.write(Data("\nstopping after this step (checkpoint follows)…\n".utf8))
            }
            source.resume()
            return source
        }
    }
}

/// 3725 s → "1h02m".
func duration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
}
