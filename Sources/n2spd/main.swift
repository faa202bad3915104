import ArgumentParser
import Daemon
import Foundation

/// `n2spd`: the inbox daemon. With `--config` (or /etc/n2spd/n2spd.toml) it serves every configured inbox;
/// with `--inbox/--outbox/--state-dir` it serves one inbox in the foreground without a config file.
struct N2SPD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "n2spd",
        abstract: "Denoise every image dropped into an inbox folder; keep improving the model on what it sees.",
        discussion: """
            With a config file: n2spd [--config /etc/n2spd/n2spd.toml]   (every key: config/n2spd.example.toml)
            Without one:        n2spd --inbox DIR --outbox DIR --state-dir DIR [--model M]
            In the second form done/ and failed/ default to STATE/inboxes/<inbox folder name>/done|failed.
            SIGHUP re-reads the configuration, rescans and reloads the model; SIGTERM finishes (or leaves for the
            next start) the images in flight and exits 0.
            """)

    @Option(help: "The TOML configuration (default /etc/n2spd/n2spd.toml when no --inbox is given).")
    var config: String?

    @Option(help: "Serve this one folder (no config file).")
    var inbox: String?
    @Option(help: "Where denoised images go (with --inbox).")
    var outbox: String?
    @Option(name: .customLong("state-dir"), help: "Ledger, model versions, training pool, status (with --inbox; with --config it overrides state_directory).")
    var stateDir: String?
    @Option(help: "The model (safetensors or TF checkpoint folder); default: the bundled model.")
    var model: String?
    @Option(name: .customLong("done-dir"), help: "Inputs go here once delivered (default STATE/inboxes/NAME/done).")
    var doneDir: String?
    @Option(name: .customLong("failed-dir"), help: "Rejected inputs and their .error.json (default STATE/inboxes/NAME/failed).")
    var failedDir: String?
    @Option(help: "Seconds a file written in place must stay unchanged (default 2).")
    var settleTime: Double?
    @Option(help: "Seconds between full rescans (default 60).")
    var rescanInterval: Double?
    @Option(help: "Worker threads (default 1).")
    var workers: Int?
    @Option(help: "error, warning, notice, info or debug.")
    var logLevel: String?
    @Flag(help: "Disable fine-tuning (single-inbox mode).")
    var noFineTune = false
    @Option(help: "Fine-tune after this many new images (single-inbox mode; default 200).")
    var fineTuneEvery: Int?
    @Option(help: "Optimizer steps per fine-tune (single-inbox mode; default 200).")
    var fineTuneSteps: Int?
    @Option(help: ArgumentHelp("Constant fine-tuning learning rate instead of the model's own schedule.", visibility: .hidden))
    var fineTuneLearningRate: Float?

    @Option(help: ArgumentHelp("denoise (default) or copy: a diagnostics mode that checks headers and copies bytes (no model).",
                               visibility: .hidden))
    var processor: String = "denoise"

    @Flag(help: "Only check the configuration, print it and exit.")
    var checkConfig = false

    func run() throws {
        let configuration: DaemonConfiguration
        do {
            configuration = try resolveConfiguration()
        } catch {
            Journal.error("\(error)")
            throw ExitCode(2)
        }
        if checkConfig {
            print("configuration OK: \(configuration.inboxes.count) inbox(es), state \(configuration.stateDirectory.path)")
            for inbox in configuration.inboxes {
                print("  \(inbox.name): \(inbox.path.path) → \(inbox.outbox.path) (done \(inbox.doneDirectory.path), failed \(inbox.failedDirectory.path))")
            }
            return
        }
        let factory: any ImageProcessorFactory
        var fineTuner: (any FineTuner)? = LinkedPipeline.fineTuner(learningRate: fineTuneLearningRate)
        switch processor {
        case "copy":
            factory = CopyProcessorFactory()
            fineTuner = nil  // diagnostics mode: no model to learn from
        case "denoise":
            factory = LinkedPipeline.factory(memoryBudgetBytes: configuration.memoryBudgetBytes)
        default:
            Journal.error("--processor must be denoise or copy, not '\(processor)'")
            throw ExitCode(2)
        }
        let daemon: InboxDaemon
        do {
            daemon = try InboxDaemon(configuration: configuration, factory: factory, fineTuner: fineTuner)
        } catch {
            Journal.error("cannot start: \(error)")
            throw ExitCode(1)
        }
        let status = daemon.run()
        if status != 0 { throw ExitCode(status) }
    }

    private func resolveConfiguration() throws -> DaemonConfiguration {
        if inbox != nil || outbox != nil {
            guard config == nil else {
                throw ConfigurationError.nothingToRun("give either --config or --inbox/--outbox/--state-dir, not both")
            }
            guard let inbox, let outbox, let stateDir else {
                let missing = [("--inbox", inbox), ("--outbox", outbox), ("--state-dir", stateDir)].filter { $0.1 == nil }.map(\.0)
                throw ConfigurationError.nothingToRun("single-inbox mode also needs \(missing.joined(separator: " and "))")
            }
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            func absolute(_ path: String) -> URL { URL(fileURLWithPath: path, relativeTo: cwd).standardizedFileURL }
            let state = absolute(stateDir)
            let inboxURL = absolute(inbox)
            var configuration = DaemonConfiguration(stateDirectory: state, inboxes: [])
            let name = inboxURL.lastPathComponent.isEmpty ? "inbox" : inboxURL.lastPathComponent
            configuration.inboxes = [InboxConfiguration(
                name: name, path: inboxURL, outbox: absolute(outbox),
                doneDirectory: doneDir.map(absolute) ?? configuration.defaultDoneDirectory(forInboxNamed: name),
                failedDirectory: failedDir.map(absolute) ?? configuration.defaultFailedDirectory(forInboxNamed: name))]
            guard configuration.inboxes[0].outbox != inboxURL else {
                throw ConfigurationError.nothingToRun("--outbox must differ from --inbox (outputs would be denoised again)")
            }
            configuration.model = model.map(absolute)
            if let settleTime { configuration.settleTime = max(0, settleTime) }
            if let rescanInterval { configuration.rescanInterval = max(0.1, rescanInterval) }
            if let workers { configuration.workerThreads = min(max(1, workers), 64) }
            if let logLevel {
                guard let level = LogLevel(name: logLevel) else { throw ConfigurationError.nothingToRun("unknown --log-level '\(logLevel)'") }
                configuration.logLevel = level
            }
            if noFineTune { configuration.fineTune.enabled = false }
            if let fineTuneEvery { configuration.fineTune.everyImages = max(1, fineTuneEvery) }
            if let fineTuneSteps { configuration.fineTune.stepBudget = max(1, fineTuneSteps) }
            return configuration
        }
        let file = config.map { URL(fileURLWithPath: $0) } ?? DaemonConfiguration.Defaults.configFile
        if config == nil && !FileManager.default.fileExists(atPath: file.path) {
            throw ConfigurationError.nothingToRun("""
                nothing to serve: no configuration at \(file.path) and no --inbox. Either write one (see \
                config/n2spd.example.toml) and pass --config FILE, or run one inbox in the foreground with \
                --inbox DIR --outbox DIR --state-dir DIR [--model M]
                """)
        }
        var configuration = try ConfigurationLoader.load(file: file)
        if let stateDir {
            // n2spd@.service: one state directory per instance, whatever the file says.
            configuration = configuration.relocatingState(to: URL(fileURLWithPath: stateDir).standardizedFileURL)
        }
        if let model { configuration.model = URL(fileURLWithPath: model).standardizedFileURL }
        if let logLevel, let level = LogLevel(name: logLevel) { configuration.logLevel = level }
        return configuration
    }
}

N2SPD.main()
