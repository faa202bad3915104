import Denoiser
import Foundation
import XCTest

/// The real pipeline (fixture model): outputs are denoised images with provenance; hostile inputs fail alone.
final class PipelineIntegrationTests: XCTestCase {
    func testDenoisesPNGAndJPEGWithProvenanceAndRejectsHostileInputsWhileServing() throws {
        let daemon = try DaemonHarness(processor: "denoise", settle: 0.2, label: "n2spd-pipe")
        daemon.extraArguments += ["--no-fine-tune"]
        try daemon.startAndWaitReady()
        let png = try TestImages.png(width: 40, height: 32, seed: 7)
        try daemon.dropRenamed("gray.png", png)
        try daemon.dropRenamed("color.jpg", try TestImages.jpeg(seed: 8))

        // Hostile inputs.
        let good = try TestImages.png(seed: 9)
        try daemon.dropRenamed("zero.png", Data())
        try daemon.dropRenamed("truncated.png", good.prefix(good.count / 2))
        try daemon.dropRenamed("badcrc.png", try TestImages.badCRC())
        try daemon.dropRenamed("bomb.png", try TestImages.dimensionBomb())
        try daemon.dropRenamed("garbage.jpg", Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))
        let jpeg = try TestImages.jpeg(seed: 10)
        try daemon.dropRenamed("truncated.jpg", jpeg.prefix(jpeg.count / 2))
        XCTAssertEqual(symlink("/etc/passwd", daemon.inbox.appendingPathComponent("passwd.png").path), 0)
        XCTAssertEqual(mkdir(daemon.inbox.appendingPathComponent("folder.png").path, 0o755), 0)
        let hostile = ["zero.png", "truncated.png", "badcrc.png", "bomb.png", "garbage.jpg", "truncated.jpg", "passwd.png", "folder.png"]

        daemon.waitUntil(30, "all hostile inputs in failed/") { hostile.allSatisfy { daemon.files(in: daemon.failed).contains($0) } }
        // The daemon keeps serving after all that.
        try daemon.dropRenamed("after.png", good)
        daemon.waitUntil(20, "outputs") { daemon.outputs().count == 3 }
        XCTAssertEqual(daemon.outputs(), ["after.png", "color.jpg", "gray.png"])
        XCTAssertEqual(daemon.stop(), 0)

        var reasons: [String: String] = [:]
        for name in hostile {
            let sidecar = daemon.failed.appendingPathComponent("\(name).error.json")
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: sidecar)) as? [String: Any]
            reasons[name] = object?["reason"] as? String
            XCTAssertEqual(object?["modelVersion"] as? String, "base", name)
            XCTAssertEqual(object?["daemonVersion"] as? String != nil, true, name)
            XCTAssertNotNil(object?["time"], name)
        }
        XCTAssertEqual(reasons["zero.png"], "is empty (0 bytes)")
        XCTAssertEqual(reasons["passwd.png"], "is a symbolic link; n2spd never follows links out of the inbox")
        XCTAssertEqual(reasons["folder.png"], "is a directory, not an image file")
        XCTAssertTrue(reasons["bomb.png"]?.contains("too large") == true, reasons["bomb.png"] ?? "")
        XCTAssertTrue(reasons["badcrc.png"]?.contains("CRC") == true, reasons["badcrc.png"] ?? "")
        XCTAssertTrue(reasons["truncated.png"]?.isEmpty == false)
        XCTAssertTrue(reasons["truncated.jpg"]?.isEmpty == false)
        XCTAssertTrue(reasons["garbage.jpg"]?.contains("not a PNG or JPEG") == true, reasons["garbage.jpg"] ?? "")
        print("hostile input reasons: \(reasons)")
        // The link was moved, never followed: /etc/passwd is untouched and failed/ holds the link itself.
        var info = stat()
        XCTAssertEqual(lstat(daemon.failed.appendingPathComponent("passwd.png").path, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFLNK)

        // The outputs are denoised (not copies), same size, with provenance in the file.
        let input = try ImageCodec.read(daemon.done.appendingPathComponent("gray.png"))
        let output = try ImageCodec.read(daemon.outbox.appendingPathComponent("gray.png"))
        XCTAssertEqual([output.width, output.height, output.colorChannels], [40, 32, 1])
        XCTAssertNotEqual(output.samples, input.samples)
        let bytes = try Data(contentsOf: daemon.outbox.appendingPathComponent("gray.png"))
        let text = String(decoding: bytes, as: UTF8.self)
        for key in ["model.version", "model.sha256", "input.sha256", "n2sp.normalization", "n2sp.tiling"] {
            XCTAssertTrue(text.contains(key), "provenance key \(key) missing from the PNG")
        }
        let color = try ImageCodec.read(daemon.outbox.appendingPathComponent("color.jpg"))
        XCTAssertEqual([color.width, color.height, color.colorChannels], [32, 24, 3])
    }
}
