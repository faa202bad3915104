import ArgumentParser
import CheckpointImport
import Foundation
import Trainer

/// `n2sp export-checkpoint`: our model → a TF V2 checkpoint the original Noise2Same code can restore.
struct ExportCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-checkpoint",
        abstract: "Write a model as a TensorFlow 1.x checkpoint (same variable names, Adam slots, global_step).",
        discussion: """
            Writes <prefix>.index, <prefix>.data-00000-of-00001 and the directory's `checkpoint` file, so \
            the original Noise2Same code (tf.estimator) restores it and can continue training. A model without \
            optimizer state gets a fresh one (Adam moments 0, beta powers 0.9/0.999, its global step or 0), \
            because the Estimator expects every slot; --weights-only leaves it out.

            Example:
              n2sp export-checkpoint tuned.safetensors -o models/N2S_PRO-8000/model.ckpt-8000
            """)

    @Argument(help: "The model (safetensors or TF checkpoint).") var model: String
    @Option(name: [.short, .customLong("output")], help: "Checkpoint prefix to write, e.g. dir/model.ckpt-8000.")
    var output: String
    @Flag(help: "Write only the network variables (no Adam slots, beta powers or global_step).") var weightsOnly = false
    @Flag(help: "Replace an existing checkpoint with this prefix.") var force = false

    func run() throws {
        if FileManager.default.fileExists(atPath: output + ".index") && !force { throw OutputExists(path: output + ".index") }
        var weights = try ModelWeights.load(from: model)
        if weightsOnly {
            weights.adam = nil
            weights.globalStep = nil
        } else if weights.adam == nil {
            // The trainer's view of a model always carries Adam state (fresh when the file had none).
            weights = try Trainer(weights: weights, config: TrainingConfig()).weights
        }
        let url = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try CheckpointWriter.write(weights, prefix: output)
        try CheckpointWriter.writeCheckpointState(prefix: output)
        let count = weights.parameters.count + (weights.adam.map { 2 * $0.firstMoments.count + 2 } ?? 0) + (weights.globalStep == nil ? 0 : 1)
        print("wrote         \(output).index + .data-00000-of-00001 (\(count) tensors, step \(weights.globalStep.map(String.init) ?? "none"))")
    }
}
