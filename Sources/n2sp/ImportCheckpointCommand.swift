import ArgumentParser
import CheckpointImport
import Foundation

/// `n2sp import-checkpoint`: TF 1.x Noise2Same checkpoint → n2spd safetensors model.
struct ImportCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-checkpoint",
        abstract: "Convert a TensorFlow 1.x Noise2Same checkpoint into an n2spd model file (safetensors).",
        discussion: """
            <checkpoint> may be a checkpoint prefix (runs/bsd68/model.ckpt-90000), its .index file, or the \
            model directory, where the `checkpoint` file names the latest save. The .index file and every \
            .data-NNNNN-of-MMMMM shard must be present; the .meta file is not needed.

            The architecture (depth, base filters, channels, residual blocks) is inferred from the variable \
            names and shapes, every variable the network needs is checked, and every block and tensor \
            checksum is verified. Batch-norm moving statistics are always kept. Adam moments, beta powers \
            and global_step are kept only with --keep-optimizer-state: use it when you will continue \
            training (Noise2SamePro fine-tuning resumes the Noise2Same Adam state); leave it out for a \
            model that only denoises (a third of the size).

            Examples:
              n2sp import-checkpoint models/n2s_bsd68 -o bsd68.safetensors
              n2sp import-checkpoint runs/model.ckpt-90000 -o train.safetensors --keep-optimizer-state
            """)

    @Argument(help: "Checkpoint prefix, .index file, or model directory.")
    var checkpoint: String

    @Option(name: [.short, .customLong("output")], help: "The safetensors file to write.")
    var output: String

    @Flag(help: "Also store the Adam state (m, v, beta powers) and global_step, to continue training.")
    var keepOptimizerState = false

    @Flag(help: "Replace the output file if it exists.")
    var force = false

    func run() throws {
        if FileManager.default.fileExists(atPath: output) && !force {
            throw OutputExists(path: output)
        }
        let bundle = try CheckpointBundle(path: checkpoint)
        let (weights, report) = try ModelWeights.importCheckpoint(bundle, keepOptimizerState: keepOptimizerState)
        let outputURL = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: outputURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        try SafetensorsFile.write(weights, to: outputURL)

        let statistics = weights.architecture.parameterSpecs.filter { !$0.role.isTrainable }.reduce(0) { $0 + $1.count }
        print("checkpoint    \(report.prefix) (\(bundle.entries.count) tensors, \(bundle.numShards) shard\(bundle.numShards == 1 ? "" : "s"), \(grouped(bundle.dataByteCount)) bytes, checksums verified)")
        print("architecture  \(report.architecture)")
        print("parameters    \(grouped(report.trainableParameterCount)) trainable + \(grouped(statistics)) batch-norm statistic values")
        print("source step   \(report.sourceStep.map(String.init) ?? "unknown (no global_step)")")
        if keepOptimizerState {
            print("optimizer     \(weights.adam == nil ? "none in the checkpoint" : "kept (Adam m/v for \(weights.adam!.firstMoments.count) variables, beta1_power \(weights.adam!.beta1Power), beta2_power \(weights.adam!.beta2Power))")")
        } else {
            print("optimizer     dropped \(report.droppedOptimizerTensors.count) tensors (use --keep-optimizer-state to keep them)")
        }
        print("unused        \(report.unusedTensors.isEmpty ? "none" : report.unusedTensors.joined(separator: ", "))")
        let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
        print("wrote         \(output) (\(grouped(size)) bytes)")
    }
}

/// Refusing to replace a file is a plain failure (exit 1), not a usage error.
struct OutputExists: Error, CustomStringConvertible {
    var path: String
    var description: String { "\(path) already exists; pass --force to replace it" }
}

/// 185896 → "185,896".
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (index, character) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(character)
    }
    return value < 0 ? "-" + out : out
}
