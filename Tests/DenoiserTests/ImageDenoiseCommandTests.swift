import Foundation
import TestSupport
import XCTest

import Denoiser

/// `n2sp denoise` as a user runs it: the real binary (built next to this test bundle) on a real folder
/// with the fixture checkpoint, good and bad files mixed.
final class ImageDenoiseCommandTests: XCTestCase {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The `n2sp` executable SwiftPM built into the same folder as the test bundle.
    static var binary: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("n2sp")
    }

    func run(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    func testDenoiseFolderWithFailures() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            return XCTFail("n2sp not built next to the tests at \(Self.binary.path) (build with --build-tests)")
        }
        let root = try Fixtures.temporaryDirectory("n2spd-cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let inbox = root.appendingPathComponent("in")
        let outbox = root.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.data("Set12/03.png"), to: inbox.appendingPathComponent("peppers.png"))
        var photo = try ImageCodec.read(Fixtures.data("Set12/05.png"))
        photo.format = .jpeg
        try ImageCodec.write(photo, to: inbox.appendingPathComponent("photo.jpg"), options: .init(fsync: false))
        try Data("not an image".utf8).write(to: inbox.appendingPathComponent("fake.png"))
        let missing = root.appendingPathComponent("missing.png").path
        let model = Fixtures.fixture("tf-ckpt-small").path

        let first = try run(["denoise", inbox.path, missing, "-o", outbox.path, "--model", model, "--compare", "--threads", "2"])
        XCTAssertEqual(first.status, 1, first.stderr)
        XCTAssertEqual(first.stdout.split(separator: "\n").count, 2, "one line per denoised file:\n\(first.stdout)")
        XCTAssertTrue(first.stderr.contains("denoised 2 of 3 files"), first.stderr)
        XCTAssertTrue(first.stderr.contains("2 failed:"), first.stderr)
        XCTAssertTrue(first.stderr.contains("fake.png: is not a PNG or JPEG file"), first.stderr)
        XCTAssertTrue(first.stderr.contains("\(missing): no such file"), first.stderr)
        XCTAssertFalse(first.stderr.contains("\u{1B}["), "no progress bar when stderr is not a terminal")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outbox.path).sorted(),
                       ["peppers-denoised-compare.png", "peppers-denoised.png", "photo-denoised-compare.png", "photo-denoised.jpg"])
        XCTAssertEqual(try ImageCodec.probe(outbox.appendingPathComponent("photo-denoised.jpg")).format, .jpeg)

        // Again, good files only: new names, nothing replaced, exit 0.
        let good = [inbox.appendingPathComponent("peppers.png").path, inbox.appendingPathComponent("photo.jpg").path]
        let second = try run(["denoise"] + good + ["-o", outbox.path, "--model", model])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("peppers-denoised-2.png"), second.stdout)
        XCTAssertTrue(second.stdout.contains("photo-denoised-2.jpg"), second.stdout)

        // --overwrite fail: refused, listed, exit 1.
        let third = try run(["denoise"] + good + ["-o", outbox.path, "--model", model, "--overwrite", "fail"])
        XCTAssertEqual(third.status, 1)
        XCTAssertTrue(third.stderr.contains("peppers-denoised.png: already exists and is never replaced"), third.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outbox.path).count, 6)

        // A model that does not load: a clear message, non-zero exit.
        let bad = try run(["denoise", good[0], "-o", outbox.path, "--model", root.appendingPathComponent("nope.safetensors").path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("cannot load model"), bad.stderr)
    }
}
