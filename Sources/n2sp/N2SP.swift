import ArgumentParser

/// `n2sp`: the command-line front end of n2spd. Each subcommand lives in its own file.
@main
struct N2SP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "n2sp",
        abstract: "Self-supervised image denoising (Noise2Same / Noise2SamePro) on the CPU.",
        discussion: """
            Models are safetensors files (ours) or TensorFlow 1.x checkpoints written by the original \
            Noise2Same code. Run `n2sp help <subcommand>` for details.
            """,
        subcommands: [
            // one line per subcommand; keep alphabetical
            BenchCommand.self,
            DenoiseCommand.self,
            EvalCommand.self,
            ExportCheckpointCommand.self,
            ImportCheckpointCommand.self,
            InspectCommand.self,
            ModelsCommand.self,
            StatusCommand.self,
            TrainCommand.self,
        ]
    )
}
