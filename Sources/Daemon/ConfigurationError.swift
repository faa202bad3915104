import Foundation

/// Why a configuration could not be used. Messages name the file, the line (when known) or key path, and the fix.
public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case syntax(file: String, line: Int, column: Int, message: String)
    /// A key n2spd does not know (typo, or a key of another version).
    case unknownKey(file: String, line: Int?, keyPath: String)
    case invalidValue(file: String, line: Int?, keyPath: String, reason: String)
    case missingKey(file: String, line: Int?, keyPath: String)
    /// Neither a config file nor the single-inbox flags: says what to give.
    case nothingToRun(String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): "\(file): cannot read the configuration: \(reason)"
        case .syntax(let file, let line, let column, let message): "\(file):\(line):\(column): TOML syntax error: \(message)"
        case .unknownKey(let file, let line, let keyPath):
            "\(Self.location(file, line)): unknown key '\(keyPath)' (see config/n2spd.example.toml for the keys n2spd knows)"
        case .invalidValue(let file, let line, let keyPath, let reason):
            "\(Self.location(file, line)): bad value for '\(keyPath)': \(reason)"
        case .missingKey(let file, let line, let keyPath): "\(Self.location(file, line)): '\(keyPath)' is required"
        case .nothingToRun(let message): message
        }
    }

    private static func location(_ file: String, _ line: Int?) -> String {
        line.map { "\(file):\($0)" } ?? file
    }
}
