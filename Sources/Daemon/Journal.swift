import Glibc
import Synchronization

/// Log lines on stderr with the `<N>` syslog-priority prefix journald understands (`SyslogLevelPrefix=yes`
/// is systemd's default). One `write(2)` per line so lines from threads never interleave.
/// On a terminal (someone running `n2spd` in the foreground) the prefix is replaced by a readable level word.
public enum Journal {
    private static let threshold = Atomic<Int>(LogLevel.info.rawValue)
    private static let stderrIsTerminal = isatty(2) == 1

    public static func setLevel(_ level: LogLevel) { threshold.store(level.rawValue, ordering: .relaxed) }

    public static func error(_ message: @autoclosure () -> String) { log(.error, message()) }
    public static func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
    public static func notice(_ message: @autoclosure () -> String) { log(.notice, message()) }
    public static func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public static func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }

    public static func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard level.rawValue <= threshold.load(ordering: .relaxed) else { return }
        // A newline inside a message would start a line without a priority; keep one record per line.
        let prefix = stderrIsTerminal ? "n2spd \(level): " : "<\(level.rawValue)>"
        var line = prefix + message().replacingOccurrences(of: "\n", with: " ⏎ ") + "\n"
        line.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 { if errno == EINTR { continue } else { return } }
                offset += written
            }
        }
    }
}

import Foundation
