/// Maps TOML key paths (`inbox[1].patterns`, `fine_tune.step_budget`) to the line that sets them.
///
/// TOMLKit reports positions only for syntax errors, not for the values it returns, so semantic errors
/// (unknown key, bad value) would otherwise only name the key path. This scanner understands the subset
/// of TOML that a hand-written config uses: `[table]`, `[[array.of.tables]]` and `key = …` lines.
/// When it cannot find a key the error falls back to the key path alone.
struct TOMLKeyLocator {
    private var lines: [String: Int] = [:]

    init(text: String) {
        var prefix = ""
        var arrayCounts: [String: Int] = [:]
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[[") {
                let name = Self.keyName(line.dropFirst(2).prefix { $0 != "]" })
                let index = arrayCounts[name, default: 0]
                arrayCounts[name] = index + 1
                prefix = "\(name)[\(index)]"
                lines[prefix] = lines[prefix] ?? lineNumber
            } else if line.hasPrefix("[") {
                prefix = Self.keyName(line.dropFirst().prefix { $0 != "]" })
                lines[prefix] = lines[prefix] ?? lineNumber
            } else if let equals = line.firstIndex(of: "="), !line.hasPrefix("#") {
                let key = Self.keyName(line[..<equals])
                guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) else { continue }
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                lines[path] = lines[path] ?? lineNumber
            }
        }
    }

    /// The 1-based line setting `keyPath`, or of its closest enclosing table.
    func line(of keyPath: String) -> Int? {
        var path = keyPath
        while true {
            if let line = lines[path] { return line }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            path = String(path[..<cut])
        }
    }

    private static func keyName<S: StringProtocol>(_ raw: S) -> String {
        raw.split(separator: ".").map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'")) }
            .joined(separator: ".")
    }
}

import Foundation
