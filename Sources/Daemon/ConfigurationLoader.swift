import Foundation
import TOMLKit

/// Reads and validates the daemon's TOML file. Unknown keys and bad values are errors (never silently
/// ignored), reported with the line and the reason.
public enum ConfigurationLoader {
    public static func load(file: URL) throws(ConfigurationError) -> DaemonConfiguration {
        let text: String
        do { text = try String(contentsOf: file, encoding: .utf8) } catch {
            throw .unreadable(file: file.path, reason: (error as NSError).localizedDescription)
        }
        return try parse(text, file: file)
    }

    /// Parses `text` as if read from `file` (relative paths resolve against the file's folder).
    public static func parse(_ text: String, file: URL) throws(ConfigurationError) -> DaemonConfiguration {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw .syntax(file: file.path, line: error.source.begin.line, column: error.source.begin.column, message: error.description)
        } catch {
            throw .syntax(file: file.path, line: 0, column: 0, message: "\(error)")
        }
        let context = Context(file: file, locator: TOMLKeyLocator(text: text), base: file.deletingLastPathComponent())
        let top = TableReader(root, path: "", context: context)

        let state = try top.path("state_directory") ?? DaemonConfiguration.Defaults.stateDirectory
        var config = DaemonConfiguration(sourceFile: file, stateDirectory: state, inboxes: [])
        config.model = try top.path("model")
        config.workerThreads = try top.int("worker_threads", in: 1...64) ?? config.workerThreads
        config.memoryBudgetBytes = try top.size("memory_budget", atLeast: 64 << 20) ?? config.memoryBudgetBytes
        config.maxPixels = try top.int("max_pixels", in: 1...1_000_000_000) ?? config.maxPixels
        config.maxFileSizeBytes = try top.size("max_file_size", atLeast: 1) ?? config.maxFileSizeBytes
        config.settleTime = try top.duration("settle_time", in: 0...3600) ?? config.settleTime
        config.rescanInterval = try top.duration("rescan_interval", in: 1...86400) ?? config.rescanInterval
        config.stopTimeout = try top.duration("stop_timeout", in: 0...3600) ?? config.stopTimeout
        config.transientRetries = try top.int("transient_retries", in: 0...1000) ?? config.transientRetries
        config.retryBackoff = try top.duration("retry_backoff", in: 0.01...3600) ?? config.retryBackoff
        config.provenanceSidecar = try top.bool("provenance_sidecar") ?? config.provenanceSidecar
        if let name = try top.string("log_level") {
            guard let level = LogLevel(name: name) else {
                throw top.invalid("log_level", "'\(name)' is not one of error, warning, notice, info, debug")
            }
            config.logLevel = level
        }
        if let fineTune = try top.table("fine_tune") {
            config.fineTune = try readFineTune(fineTune)
        }
        let inboxTables = try top.arrayOfTables("inbox") ?? []
        for table in inboxTables {
            config.inboxes.append(try readInbox(table, config: config))
        }
        // Unknown keys first: a misspelt [[inboxes]] should be reported as such, not as a missing [[inbox]].
        try top.rejectUnknownKeys()
        guard !inboxTables.isEmpty else { throw .missingKey(file: file.path, line: nil, keyPath: "inbox") }
        try checkInboxesDisjoint(config.inboxes, context: context)
        return config
    }

    private static func readInbox(_ table: TableReader, config: DaemonConfiguration) throws(ConfigurationError) -> InboxConfiguration {
        guard let path = try table.path("path") else { throw table.missing("path") }
        guard let outbox = try table.path("outbox") else { throw table.missing("outbox") }
        let name = try table.string("name") ?? path.lastPathComponent
        guard !name.isEmpty, !name.hasPrefix("."), name.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) else {
            throw table.invalid("name", "'\(name)' must be letters, digits, '_', '-', '.' and not start with '.' (it names folders)")
        }
        var inbox = InboxConfiguration(
            name: name, path: path, outbox: outbox,
            doneDirectory: try table.path("done") ?? config.defaultDoneDirectory(forInboxNamed: name),
            failedDirectory: try table.path("failed") ?? config.defaultFailedDirectory(forInboxNamed: name))
        if let policy = try table.string("on_success") {
            guard let value = SuccessPolicy(rawValue: policy) else {
                throw table.invalid("on_success", "'\(policy)' is not one of \(SuccessPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            inbox.onSuccess = value
        }
        if let patterns = try table.strings("patterns") {
            guard !patterns.isEmpty, patterns.allSatisfy({ !$0.isEmpty }) else {
                throw table.invalid("patterns", "needs at least one non-empty glob such as \"*.png\"")
            }
            inbox.patterns = patterns
        }
        inbox.model = try table.path("model")
        inbox.feedsTrainingPool = try table.bool("train") ?? (inbox.model == nil)
        try table.rejectUnknownKeys()
        return inbox
    }

    private static func readFineTune(_ table: TableReader) throws(ConfigurationError) -> FineTunePolicy {
        var policy = FineTunePolicy()
        policy.enabled = try table.bool("enabled") ?? policy.enabled
        policy.everyImages = try table.int("every_images", in: 0...10_000_000) ?? policy.everyImages
        policy.everyHours = try table.double("every_hours", in: 0...87600) ?? policy.everyHours
        policy.stepBudget = try table.int("step_budget", in: 1...10_000_000) ?? policy.stepBudget
        policy.heldOutFraction = try table.double("held_out_fraction", in: 0.01...0.9) ?? policy.heldOutFraction
        policy.poolMaxFiles = try table.int("pool_max_files", in: 2...10_000_000) ?? policy.poolMaxFiles
        policy.poolMaxBytes = try table.size("pool_max_bytes", atLeast: 1) ?? policy.poolMaxBytes
        policy.poolMaxAgeDays = try table.double("pool_max_age_days", in: 0...36500) ?? policy.poolMaxAgeDays
        policy.keepModels = try table.int("keep_models", in: 1...1000) ?? policy.keepModels
        if policy.enabled && policy.everyImages == 0 && policy.everyHours == 0 {
            throw table.invalid("every_images", "with every_images = 0 and every_hours = 0 fine-tuning would never run; set enabled = false instead")
        }
        try table.rejectUnknownKeys()
        return policy
    }

    /// Two inboxes on one folder would race for the same files; an outbox inside an inbox would feed outputs back in.
    private static func checkInboxesDisjoint(_ inboxes: [InboxConfiguration], context: Context) throws(ConfigurationError) {
        var seenPaths: [String: Int] = [:], seenNames: [String: Int] = [:]
        for (index, inbox) in inboxes.enumerated() {
            let key = "inbox[\(index)]"
            if let other = seenPaths[inbox.path.standardizedFileURL.path] {
                throw .invalidValue(file: context.file.path, line: context.locator.line(of: "\(key).path"), keyPath: "\(key).path",
                                    reason: "the same folder is already inbox[\(other)]")
            }
            if let other = seenNames[inbox.name] {
                throw .invalidValue(file: context.file.path, line: context.locator.line(of: "\(key).name"), keyPath: "\(key).name",
                                    reason: "name '\(inbox.name)' is already used by inbox[\(other)]; give one of them a distinct `name`")
            }
            if inbox.outbox.standardizedFileURL.path == inbox.path.standardizedFileURL.path {
                throw .invalidValue(file: context.file.path, line: context.locator.line(of: "\(key).outbox"), keyPath: "\(key).outbox",
                                    reason: "the outbox must not be the inbox (outputs would be denoised again)")
            }
            seenPaths[inbox.path.standardizedFileURL.path] = index
            seenNames[inbox.name] = index
        }
    }

    struct Context {
        let file: URL
        let locator: TOMLKeyLocator
        /// Relative paths in the file are relative to the file's folder.
        let base: URL
    }

    /// Typed access to one table; remembers which keys were read so the rest can be reported as unknown.
    final class TableReader {
        let table: TOMLTable
        let path: String
        let context: Context
        private var consumed: Set<String> = []

        init(_ table: TOMLTable, path: String, context: Context) {
            self.table = table
            self.path = path
            self.context = context
        }

        func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

        func invalid(_ key: String, _ reason: String) -> ConfigurationError {
            .invalidValue(file: context.file.path, line: context.locator.line(of: keyPath(key)), keyPath: keyPath(key), reason: reason)
        }

        func missing(_ key: String) -> ConfigurationError {
            .missingKey(file: context.file.path, line: context.locator.line(of: path), keyPath: keyPath(key))
        }

        private func value(_ key: String) -> TOMLValueConvertible? {
            consumed.insert(key)
            return table[key]
        }

        private func wrongType(_ key: String, _ value: TOMLValueConvertible, expected: String) -> ConfigurationError {
            invalid(key, "expected \(expected), found \(Self.article(value.type))")
        }

        func string(_ key: String) throws(ConfigurationError) -> String? {
            guard let value = value(key) else { return nil }
            guard let string = value.string else { throw wrongType(key, value, expected: "a string") }
            return string
        }

        func bool(_ key: String) throws(ConfigurationError) -> Bool? {
            guard let value = value(key) else { return nil }
            guard let bool = value.bool else { throw wrongType(key, value, expected: "true or false") }
            return bool
        }

        func int(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
            guard let value = value(key) else { return nil }
            guard let int = value.int else { throw wrongType(key, value, expected: "an integer") }
            guard range.contains(int) else { throw invalid(key, "\(int) is outside \(range.lowerBound)…\(range.upperBound)") }
            return int
        }

        func double(_ key: String, in range: ClosedRange<Double>) throws(ConfigurationError) -> Double? {
            guard let value = value(key) else { return nil }
            guard let number = value.double ?? value.int.map(Double.init) else { throw wrongType(key, value, expected: "a number") }
            guard range.contains(number), number.isFinite else {
                throw invalid(key, "\(number) is outside \(range.lowerBound)…\(range.upperBound)")
            }
            return number
        }

        /// Seconds as a number, or a string with a unit: "500ms", "2s", "5min", "24h".
        func duration(_ key: String, in range: ClosedRange<Double>) throws(ConfigurationError) -> Double? {
            guard let value = value(key) else { return nil }
            let seconds: Double
            if let number = value.double ?? value.int.map(Double.init) {
                seconds = number
            } else if let text = value.string, let parsed = Units.seconds(text) {
                seconds = parsed
            } else {
                throw invalid(key, "expected seconds (a number) or a string like \"500ms\", \"2s\", \"5min\", \"24h\"")
            }
            guard range.contains(seconds) else { throw invalid(key, "\(seconds) s is outside \(range.lowerBound)…\(range.upperBound) s") }
            return seconds
        }

        /// Bytes as an integer, or a string with a unit: "512MiB", "2GiB", "100M" (powers of 1024).
        func size(_ key: String, atLeast minimum: Int64) throws(ConfigurationError) -> Int64? {
            guard let value = value(key) else { return nil }
            let bytes: Int64
            if let int = value.int {
                bytes = Int64(int)
            } else if let text = value.string, let parsed = Units.bytes(text) {
                bytes = parsed
            } else {
                throw invalid(key, "expected bytes (an integer) or a string like \"512MiB\", \"2GiB\"")
            }
            guard bytes >= minimum else { throw invalid(key, "\(bytes) bytes is below the minimum of \(minimum)") }
            return bytes
        }

        /// A file system path; `~` is not expanded (the daemon has no home), relative paths are relative to the config file.
        func path(_ key: String) throws(ConfigurationError) -> URL? {
            guard let text = try string(key) else { return nil }
            guard !text.isEmpty else { throw invalid(key, "an empty path") }
            guard !text.contains("\0") else { throw invalid(key, "a path must not contain NUL") }
            return text.hasPrefix("/") ? URL(fileURLWithPath: text).standardizedFileURL
                : context.base.appendingPathComponent(text).standardizedFileURL
        }

        func strings(_ key: String) throws(ConfigurationError) -> [String]? {
            guard let value = value(key) else { return nil }
            guard let array = value.array else { throw wrongType(key, value, expected: "an array of strings") }
            var result: [String] = []
            for element in array {
                guard let string = element.string else { throw invalid(key, "every element must be a string, found \(Self.article(element.type))") }
                result.append(string)
            }
            return result
        }

        func table(_ key: String) throws(ConfigurationError) -> TableReader? {
            guard let value = value(key) else { return nil }
            guard let table = value.table else { throw wrongType(key, value, expected: "a table [\(keyPath(key))]") }
            return TableReader(table, path: keyPath(key), context: context)
        }

        func arrayOfTables(_ key: String) throws(ConfigurationError) -> [TableReader]? {
            guard let value = value(key) else { return nil }
            guard let array = value.array else { throw wrongType(key, value, expected: "tables written as [[\(keyPath(key))]]") }
            var result: [TableReader] = []
            for (index, element) in array.enumerated() {
                guard let table = element.table else {
                    throw invalid(key, "expected tables written as [[\(keyPath(key))]], element \(index) is \(Self.article(element.type))")
                }
                result.append(TableReader(table, path: "\(keyPath(key))[\(index)]", context: context))
            }
            return result
        }

        static func article(_ type: TOMLType) -> String {
            let name = "\(type)"
            return ("aeiou".contains(name.first ?? "x") ? "an " : "a ") + name
        }

        func rejectUnknownKeys() throws(ConfigurationError) {
            for key in table.keys.sorted() where !consumed.contains(key) {
                throw .unknownKey(file: context.file.path, line: context.locator.line(of: keyPath(key)), keyPath: keyPath(key))
            }
        }
    }
}

/// Parsing of human-friendly durations and sizes in the config and on the command line.
public enum Units {
    public static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("min", 60), ("s", 1), ("h", 3600), ("d", 86400)]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), number >= 0 else { return nil }
            return number * factor
        }
        return Double(trimmed).flatMap { $0 >= 0 ? $0 : nil }
    }

    public static func bytes(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int64)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
            ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40), ("B", 1),
        ]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), number >= 0,
                  number * Double(factor) < 9e18 else { return nil }
            return Int64(number * Double(factor))
        }
        return Int64(trimmed).flatMap { $0 >= 0 ? $0 : nil }
    }
}
