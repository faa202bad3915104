import ArgumentParser
import Daemon
import Foundation

/// `n2sp status`: what the running daemon is doing, from its status file.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the n2spd daemon's queues, counts, model and fine-tuning state.")

    @Option(name: .customLong("state-dir"), help: "The daemon's state directory (default: from the config, else /var/lib/n2spd).")
    var stateDir: String?
    @Option(help: "The daemon's config file, to find its state directory.")
    var config: String?
    @Flag(help: "Print the raw status as JSON.")
    var json = false

    func run() throws {
        let state = try resolveStateDirectory(stateDir: stateDir, config: config)
        let file = DaemonStatus.fileURL(stateDirectory: state)
        if json {
            guard let data = FileManager.default.contents(atPath: file.path) else {
                throw DaemonCommandError("no status file at \(file.path): is n2spd running with this state directory?")
            }
            FileHandle.standardOutput.write(data)
            print()
            return
        }
        let status: DaemonStatus
        do { status = try DaemonStatus.read(stateDirectory: state) } catch {
            throw DaemonCommandError("cannot read \(file.path) (\(error.localizedDescription)): is n2spd running with this state directory?")
        }
        let alive = kill(status.pid, 0) == 0 || errno == EPERM
        let age = Int(Date().timeIntervalSince(status.updatedAt))
        print("n2spd \(status.daemonVersion), pid \(status.pid) \(alive ? status.phase.rawValue : "not running (last phase: \(status.phase.rawValue))"), "
              + "updated \(age) s ago")
        if let model = status.model { print("model: \(model.version) \(model.hash.prefix(16)) \(model.path)") }
        for inbox in status.inboxes {
            print("inbox \(inbox.name): \(inbox.path) → \(inbox.outbox)")
            print("  queued \(inbox.queued), in flight \(inbox.inFlight), processed \(inbox.processed), failed \(inbox.failed), model \(inbox.model)")
            if let error = inbox.lastError {
                print("  last error: \(error)\(inbox.lastErrorTime.map { " (\(ISO8601DateFormatter().string(from: $0)))" } ?? "")")
            }
        }
        let fineTune = status.fineTune
        var line = "fine-tuning: \(fineTune.state), \(fineTune.imagesSinceLast) new image(s), pool \(fineTune.poolSize)"
        if let step = fineTune.step, let budget = fineTune.stepBudget { line += ", step \(step)/\(budget)" }
        print(line)
        if let last = fineTune.lastResult {
            print("  last: \(ISO8601DateFormatter().string(from: last.time)) \(last.promoted ? "promoted \(last.version ?? "")" : "not promoted"): \(last.message)")
        }
    }
}

/// `--state-dir`, else the config's `state_directory`, else the default.
func resolveStateDirectory(stateDir: String?, config: String?) throws -> URL {
    if let stateDir { return URL(fileURLWithPath: stateDir).standardizedFileURL }
    let file = config.map { URL(fileURLWithPath: $0) } ?? DaemonConfiguration.Defaults.configFile
    if config != nil || FileManager.default.fileExists(atPath: file.path) {
        do { return try ConfigurationLoader.load(file: file).stateDirectory } catch { throw DaemonCommandError("\(error)") }
    }
    return DaemonConfiguration.Defaults.stateDirectory
}

/// A runtime failure of `status`/`models` (printed as `Error: …`, exit 1, without the usage text).
struct DaemonCommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
