import Foundation
import XCTest

/// The real `n2spd` binary against real folders (the copy processor: plumbing, not pixels).
final class IntakeIntegrationTests: XCTestCase {
    func testRenamedSlowlyWrittenAndCollidingFilesEachGetExactlyOneOutput() throws {
        let daemon = try DaemonHarness()
        try daemon.startAndWaitReady()

        // Renamed in: taken at once.
        try daemon.dropRenamed("renamed.png", TestImages.png(seed: 1))
        // Written slowly in place: three chunks with pauses longer than nothing but shorter than settling.
        let slow = try TestImages.png(seed: 2)
        let slowPath = daemon.inbox.appendingPathComponent("slow.png").path
        // Written in place by one writer (open, three chunks with pauses longer than the 0.3 s settle time, close):
        // only the close says it is complete. (A rename is the other convention: renamed-in files are complete.)
        let fd = open(slowPath, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let third = slow.count / 3
        for (index, range) in [0..<third, third..<2 * third, 2 * third..<slow.count].enumerated() {
            let chunk = slow.subdata(in: range)
            XCTAssertEqual(chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, chunk.count)
            if index < 2 { usleep(400_000) }
        }
        close(fd)
        // Ignored names.
        try Data("x".utf8).write(to: daemon.inbox.appendingPathComponent(".hidden.png"))
        try Data("x".utf8).write(to: daemon.inbox.appendingPathComponent("upload.png.part"))
        try Data("x".utf8).write(to: daemon.inbox.appendingPathComponent("notes.txt"))

        daemon.waitUntil(10, "two outputs") { daemon.outputs().count == 2 }
        XCTAssertEqual(daemon.outputs(), ["renamed.png", "slow.png"])
        XCTAssertEqual(try Data(contentsOf: daemon.outbox.appendingPathComponent("slow.png")), slow, "the slow file was taken before it was complete")

        // Same name, different content, one after another: a second, distinct output name; nothing replaced.
        try daemon.dropRenamed("renamed.png", TestImages.png(seed: 3))
        daemon.waitUntil(10, "collision output") { daemon.outputs().count == 3 }
        XCTAssertEqual(daemon.outputs(), ["renamed (2).png", "renamed.png", "slow.png"])
        XCTAssertEqual(try Data(contentsOf: daemon.outbox.appendingPathComponent("renamed.png")), try TestImages.png(seed: 1))
        // The input moves to done/ right after its output is in place.
        daemon.waitUntil(5, "three inputs in done/") { daemon.files(in: daemon.done).count == 3 }
        XCTAssertEqual(daemon.files(in: daemon.done), ["renamed (2).png", "renamed.png", "slow.png"])

        XCTAssertEqual(daemon.stop(), 0)
        XCTAssertEqual(daemon.files(in: daemon.inbox), ["notes.txt", "upload.png.part"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: daemon.inbox.appendingPathComponent(".hidden.png").path))
        XCTAssertEqual(daemon.files(in: daemon.processing), [])

        // Restart; the same name with the same content again: the ledger knows it, no second output.
        try daemon.startAndWaitReady()
        try daemon.dropRenamed("slow.png", slow)
        daemon.waitUntil(10, "the duplicate to be finished") { daemon.files(in: daemon.done).count == 4 }
        XCTAssertEqual(daemon.outputs().count, 3, "an input already delivered was processed again")
        XCTAssertTrue(daemon.log.contains("already delivered"))
        XCTAssertEqual(daemon.stop(), 0)
    }

    func testTwoHundredFilesAtOnce() throws {
        let daemon = try DaemonHarness()
        daemon.extraArguments += ["--workers", "2"]
        let count = 200
        for i in 0..<count { try TestImages.png(width: 8, height: 8, seed: i).write(to: daemon.staging.appendingPathComponent("f\(i).png")) }
        try daemon.startAndWaitReady()
        usleep(300_000)
        for i in 0..<count {
            XCTAssertEqual(rename(daemon.staging.appendingPathComponent("f\(i).png").path, daemon.inbox.appendingPathComponent("f\(i).png").path), 0)
        }
        daemon.waitUntil(40, "\(count) outputs") { daemon.outputs().count == count }
        XCTAssertEqual(Set(daemon.outputs()), Set((0..<count).map { "f\($0).png" }))
        daemon.waitUntil(5, "\(count) inputs in done/") { daemon.files(in: daemon.done).count == count }
        XCTAssertEqual(daemon.stop(), 0)
        XCTAssertEqual(daemon.files(in: daemon.inbox), [])
        XCTAssertEqual(daemon.files(in: daemon.processing), [])
        XCTAssertEqual(daemon.files(in: daemon.failed), [])
        for i in stride(from: 0, to: count, by: 37) {
            XCTAssertEqual(try Data(contentsOf: daemon.outbox.appendingPathComponent("f\(i).png")), try TestImages.png(width: 8, height: 8, seed: i))
        }
    }

    func testFilesPresentAtStartupAreTakenAndTheStatusFileCountsThem() throws {
        let daemon = try DaemonHarness()
        for i in 0..<3 { try TestImages.png(seed: 40 + i).write(to: daemon.inbox.appendingPathComponent("early\(i).png")) }
        try Data("not an image".utf8).write(to: daemon.inbox.appendingPathComponent("junk.png"))
        try daemon.startAndWaitReady()
        daemon.waitUntil(10, "3 outputs and 1 failure") { daemon.outputs().count == 3 && daemon.files(in: daemon.failed).count == 2 }
        let statusURL = daemon.state.appendingPathComponent("status.json")
        daemon.waitUntil(5, "status counts") {
            guard let data = try? Data(contentsOf: statusURL), let text = String(data: data, encoding: .utf8) else { return false }
            return text.contains("\"processed\" : 3") && text.contains("\"failed\" : 1")
        }
        // `n2sp status` reads the same file.
        let status = Process()
        status.executableURL = DaemonHarness.binary.deletingLastPathComponent().appendingPathComponent("n2sp")
        status.arguments = ["status", "--state-dir", daemon.state.path]
        let pipe = Pipe()
        status.standardOutput = pipe
        try status.run()
        status.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(status.terminationStatus, 0)
        XCTAssertTrue(text.contains("processed 3, failed 1"), text)
        XCTAssertTrue(text.contains("junk.png: not a PNG or JPEG file"), text)
        XCTAssertEqual(daemon.stop(), 0)
    }

    func testInotifyQueueOverflowTriggersARescan() throws {
        let limit = Int((try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 16384
        guard limit <= 100_000 else { throw XCTSkip("max_queued_events = \(limit): too many files needed to overflow it") }
        let daemon = try DaemonHarness()
        daemon.extraArguments = ["--processor", "copy", "--settle-time", "0.2", "--rescan-interval", "3600"]
        try daemon.startAndWaitReady()
        let pid = try XCTUnwrap(daemon.process?.processIdentifier)
        // Freeze the daemon, flood its queue with events of names it ignores (each empty file: IN_CREATE +
        // IN_CLOSE_WRITE), then rename an image in: its IN_MOVED_TO is lost to the overflow.
        kill(pid, SIGSTOP)
        for i in 0..<(limit / 2 + 100) {
            let fd = open(daemon.inbox.appendingPathComponent("flood\(i).txt").path, O_WRONLY | O_CREAT, 0o644)
            close(fd)
        }
        try daemon.dropRenamed("late.png", TestImages.png(seed: 77))
        kill(pid, SIGCONT)
        // Without the overflow rescan it would wait for the hourly rescan.
        daemon.waitUntil(15, "the image renamed in during the overflow") { daemon.outputs() == ["late.png"] }
        XCTAssertTrue(daemon.log.contains("inotify queue overflowed"), daemon.log)
        XCTAssertEqual(daemon.stop(), 0)
    }

    func testWithoutConfigOrFlagsItSaysWhatIsMissing() throws {
        let daemon = try DaemonHarness()
        try daemon.start(arguments: ["--config", daemon.root.appendingPathComponent("absent.toml").path])
        daemon.process?.waitUntilExit()
        XCTAssertEqual(daemon.process?.terminationStatus, 2)
        XCTAssertTrue(daemon.log.contains("absent.toml: cannot read the configuration"), daemon.log)

        try daemon.start(arguments: ["--inbox", daemon.inbox.path])
        daemon.process?.waitUntilExit()
        XCTAssertEqual(daemon.process?.terminationStatus, 2)
        XCTAssertTrue(daemon.log.contains("single-inbox mode also needs --outbox and --state-dir"), daemon.log)
    }
}
