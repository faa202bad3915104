import Foundation

/// Turns what a user types into a checkpoint prefix (spec §1, §9): a prefix (`dir/model.ckpt-90000`),
/// the `.index`, `.meta` or a `.data-…` file of it, or a model directory, where the `checkpoint` text file
/// names the latest prefix (falling back to the highest `-N` among the `*.index` files).
public enum CheckpointLocation {
    public static func resolvePrefix(_ path: String) throws(CheckpointError) -> String {
        if FileSystem.isDirectory(path) { return try latestPrefix(inDirectory: path) }
        if path.hasSuffix(".index"), FileSystem.isRegularFile(path) { return String(path.dropLast(".index".count)) }
        if path.hasSuffix(".meta"), FileSystem.isRegularFile(String(path.dropLast(".meta".count)) + ".index") {
            return String(path.dropLast(".meta".count))
        }
        if FileSystem.isRegularFile(path + ".index") { return path }
        if let range = path.range(of: ".data-", options: .backwards), FileSystem.isRegularFile(path) {
            let prefix = String(path[..<range.lowerBound])
            if FileSystem.isRegularFile(prefix + ".index") { return prefix }
        }
        if FileSystem.exists(path) {
            throw .notACheckpoint(path: path, reason: "no \(path).index next to it (TF V1 checkpoints and other files are not supported)")
        }
        throw .notFound(path: path)
    }

    private static func latestPrefix(inDirectory directory: String) throws(CheckpointError) -> String {
        let stateFile = join(directory, "checkpoint")
        if FileSystem.isRegularFile(stateFile) {
            guard let file = try ReadOnlyFile(path: stateFile) else { throw .notFound(path: stateFile) }
            let text = String(decoding: try file.readAll(), as: UTF8.self)
            guard let named = try modelCheckpointPath(in: text, file: stateFile) else {
                throw .checkpointStateInvalid(file: stateFile, reason: "no model_checkpoint_path line")
            }
            let prefix = named.hasPrefix("/") ? named : join(directory, named)
            if FileSystem.isRegularFile(prefix + ".index") { return prefix }
            // TF often records absolute paths; a model directory copied from another machine keeps the
            // files but not that path, so look for the same name next to the `checkpoint` file.
            let moved = join(directory, String(named.split(separator: "/").last ?? Substring(named)))
            if named.hasPrefix("/"), FileSystem.isRegularFile(moved + ".index") { return moved }
            throw .checkpointStateInvalid(file: stateFile, reason: "it names \(named), but \(prefix).index does not exist")
        }
        // No state file: the newest `<name>-<step>.index`, or the only `.index` there is.
        let indexes = FileSystem.contentsOfDirectory(directory).filter { $0.hasSuffix(".index") }
        let stepped = indexes.compactMap { name -> (step: Int, prefix: String)? in
            let prefix = String(name.dropLast(".index".count))
            guard let dash = prefix.lastIndex(of: "-"), let step = Int(prefix[prefix.index(after: dash)...]) else { return nil }
            return (step, prefix)
        }
        if let newest = stepped.max(by: { $0.step < $1.step }) { return join(directory, newest.prefix) }
        if indexes.count == 1 { return join(directory, String(indexes[0].dropLast(".index".count))) }
        throw .notACheckpoint(
            path: directory,
            reason: indexes.isEmpty ? "the directory has no `checkpoint` file and no *.index file"
                : "no `checkpoint` file and several *.index files without a -N step suffix; name one")
    }

    /// The value of `model_checkpoint_path: "…"` in a text-format `CheckpointState`; unknown lines are ignored.
    public static func modelCheckpointPath(in text: String, file: String) throws(CheckpointError) -> String? {
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            guard trimmed.hasPrefix("model_checkpoint_path") else { continue }
            var rest = trimmed.dropFirst("model_checkpoint_path".count).drop(while: { $0 == " " || $0 == "\t" })
            guard rest.first == ":" else { continue }
            rest = rest.dropFirst().drop(while: { $0 == " " || $0 == "\t" })
            guard let value = unquote(rest) else {
                throw .checkpointStateInvalid(file: file, reason: "model_checkpoint_path is not a quoted string: \(trimmed)")
            }
            return value
        }
        return nil
    }

    /// Undoes protobuf text-format C escaping of a `"…"` or `'…'` string.
    static func unquote(_ text: Substring) -> String? {
        guard let quote = text.first, quote == "\"" || quote == "'" else { return nil }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8.dropFirst()).makeIterator()
        while let byte = iterator.next() {
            if byte == quote.asciiValue! { return String(decoding: bytes, as: UTF8.self) }
            guard byte == UInt8(ascii: "\\") else { bytes.append(byte); continue }
            guard let escaped = iterator.next() else { return nil }
            switch escaped {
            case UInt8(ascii: "n"): bytes.append(0x0a)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "r"): bytes.append(0x0d)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                // up to three octal digits
                var value = Int(escaped - UInt8(ascii: "0"))
                var lookahead = iterator
                for _ in 0..<2 {
                    guard let next = lookahead.next(), (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(next) else { break }
                    value = value * 8 + Int(next - UInt8(ascii: "0"))
                    iterator = lookahead
                }
                bytes.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x"):
                var value = 0
                var digits = 0
                var lookahead = iterator
                while digits < 2, let next = lookahead.next(), let digit = hexValue(next) {
                    value = value * 16 + digit
                    digits += 1
                    iterator = lookahead
                }
                guard digits > 0 else { return nil }
                bytes.append(UInt8(value))
            default: bytes.append(escaped)  // \\ \" \' and anything else: the character itself
            }
        }
        return nil  // no closing quote
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
