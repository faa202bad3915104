import Foundation
import TestSupport
import XCTest

/// Runs the real `n2spd` binary (from the build products folder) against a fresh set of folders.
final class DaemonHarness {
    let root: URL
    let inbox: URL
    let outbox: URL
    let state: URL
    let staging: URL
    var process: Process?
    let logURL: URL
    var extraArguments: [String]
    var environment: [String: String] = [:]

    static let binary: URL = {
        if let override = ProcessInfo.processInfo.environment["N2SPD_BINARY"] { return URL(fileURLWithPath: override) }
        // The test bundle lives in the products folder beside the executables.
        var directory = Bundle(for: DaemonHarness.self).bundleURL.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: directory.appendingPathComponent("n2spd").path) {
            directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        }
        return directory.appendingPathComponent("n2spd")
    }()

    static let fixtureModel = Fixtures.fixture("tf-ckpt-small")

    /// `processor`: "copy" (fast plumbing checks) or "denoise" (the real pipeline with the fixture model).
    init(processor: String = "copy", settle: Double = 0.3, label: String = "n2spd-it") throws {
        root = try Fixtures.temporaryDirectory(label)
        inbox = root.appendingPathComponent("inbox")
        outbox = root.appendingPathComponent("outbox")
        state = root.appendingPathComponent("state")
        staging = root.appendingPathComponent("staging")
        logURL = root.appendingPathComponent("daemon.log")
        for directory in [inbox, staging] { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        extraArguments = ["--processor", processor, "--settle-time", String(settle), "--rescan-interval", "2"]
        if processor == "denoise" { extraArguments += ["--model", Self.fixtureModel.path] }
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
    }

    var done: URL { state.appendingPathComponent("inboxes/inbox/done") }
    var failed: URL { state.appendingPathComponent("inboxes/inbox/failed") }
    var processing: URL { inbox.appendingPathComponent(".n2spd-processing") }

    func start(arguments: [String]? = nil) throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.binary.path), "n2spd not built at \(Self.binary.path)")
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments ?? (["--inbox", inbox.path, "--outbox", outbox.path, "--state-dir", state.path] + extraArguments)
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = nil
        env["WATCHDOG_USEC"] = nil
        env["OPENBLAS_CORETYPE"] = "Haswell"
        env["OPENBLAS_NUM_THREADS"] = "1"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = log
        try process.run()
        self.process = process
    }

    /// Starts and waits until the daemon says it is ready (watches set up) in its status file.
    func startAndWaitReady(timeout: Double = 20) throws {
        let statusURL = state.appendingPathComponent("status.json")
        try? FileManager.default.removeItem(at: statusURL)
        try start()
        waitUntil(timeout, "the daemon to become ready") {
            guard let data = try? Data(contentsOf: statusURL), let text = String(data: data, encoding: .utf8) else { return false }
            return text.contains("\"phase\" : \"ready\"")
        }
    }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard let process else { return -1 }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
        return process.terminationStatus
    }

    func kill9() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Drops a file in the way well-behaved uploaders do: write elsewhere, rename in.
    func dropRenamed(_ name: String, _ data: Data) throws {
        let temporary = staging.appendingPathComponent(name)
        try data.write(to: temporary)
        guard rename(temporary.path, inbox.appendingPathComponent(name).path) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    func files(in directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    func outputs() -> [String] { files(in: outbox) }

    /// Polls `condition` until it holds or `timeout` passes.
    @discardableResult
    func waitUntil(_ timeout: Double, _ what: String = "condition", _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        XCTFail("timed out after \(timeout) s waiting for \(what); daemon log:\n\(log.suffix(3000))")
        return false
    }

    deinit {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: root)
    }
}
