import ArgumentParser
import Daemon
import Foundation

/// `n2sp models list|rollback`: the daemon's model versions.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "List the daemon's model versions or roll back to an earlier one.",
        subcommands: [List.self, Rollback.self], defaultSubcommand: List.self)

    struct Location: ParsableArguments {
        @Option(name: .customLong("state-dir"), help: "The daemon's state directory (default: from the config, else /var/lib/n2spd).")
        var stateDir: String?
        @Option(help: "The daemon's config file, to find its state directory.")
        var config: String?

        func registry() throws -> ModelRegistry {
            let state = try resolveStateDirectory(stateDir: stateDir, config: config)
            return try ModelRegistry(directory: state.appendingPathComponent("models"))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List versions; * marks the current one.")
        @OptionGroup var location: Location

        func run() throws {
            let registry = try location.registry()
            let current = registry.currentVersion()
            print("\(current == ModelRegistry.baseVersion ? "*" : " ") base      the configured model")
            let formatter = ISO8601DateFormatter()
            for info in registry.versions() {
                print("\(info.version == current ? "*" : " ") \(info.version)     \(formatter.string(from: info.created))  from \(info.parent), "
                      + "\(info.steps) steps, held-out loss \(String(format: "%.6g", info.candidateLoss)) vs \(String(format: "%.6g", info.baselineLoss)), "
                      + "\(info.sha256.prefix(12))")
            }
        }
    }

    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an earlier version current (default: the one before the current).",
            discussion: "The running daemon switches at its next rescan; `systemctl reload n2spd` switches at once.")
        @OptionGroup var location: Location
        @Argument(help: "The version to use (e.g. v0002 or base).")
        var version: String?

        func run() throws {
            let registry = try location.registry()
            let before = registry.currentVersion()
            guard let target = version ?? registry.previousVersion() else {
                throw DaemonCommandError("\(before) is the oldest version; nothing to roll back to")
            }
            do { try registry.setCurrent(target) } catch { throw DaemonCommandError("\(error)") }
            print("current model: \(before) → \(target)")
        }
    }
}
