import Foundation
import TestSupport

/// A writable copy of a fixture checkpoint directory, to corrupt in one specific way.
struct CorruptCopy {
    let directory: String
    let prefix: String

    init(of fixtureDirectory: String, prefixName: String) throws {
        let temporary = try Fixtures.temporaryDirectory("corrupt")
        for name in try FileManager.default.contentsOfDirectory(atPath: fixtureDirectory) where !name.hasSuffix(".meta") && !name.hasSuffix(".md") && !name.hasSuffix(".json") {
            let target = temporary.appendingPathComponent(name).path
            try FileManager.default.copyItem(atPath: fixtureDirectory + "/" + name, toPath: target)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: target)
        }
        directory = temporary.path
        prefix = directory + "/" + prefixName
    }

    var indexPath: String { prefix + ".index" }
    var dataPath: String { prefix + ".data-00000-of-00001" }

    func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
    func write(_ bytes: [UInt8], to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    func edit(_ path: String, _ change: (inout [UInt8]) -> Void) throws {
        var contents = try bytes(path)
        change(&contents)
        try write(contents, to: path)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
