import Foundation
import XCTest
@testable import Daemon

/// The real binary with the real trainer (fixture model, tiny step budget): a fine-tune that helps is
/// promoted, one made worse on purpose (a learning rate far too large) is rejected, rollback switches back.
final class FineTuneIntegrationTests: XCTestCase {
    func testRealFineTunePromotesBetterRejectsWorseAndRollsBack() throws {
        let daemon = try DaemonHarness(processor: "denoise", settle: 0.2, label: "n2spd-ft")
        let base = daemon.extraArguments + ["--fine-tune-every", "6", "--fine-tune-steps", "8"]
        let registry = try ModelRegistry(directory: daemon.state.appendingPathComponent("models"))
        func status() -> DaemonStatus? { try? DaemonStatus.read(stateDirectory: daemon.state) }
        func dropBatch(_ prefix: String, seed: Int) throws {
            for i in 0..<6 { try daemon.dropRenamed("\(prefix)\(i).png", TestImages.png(width: 64, height: 64, seed: seed + i)) }
        }

        // 1. A sensible learning rate: the held-out loss drops → v0001 promoted and used.
        daemon.extraArguments = base + ["--fine-tune-learning-rate", "0.001"]
        try daemon.startAndWaitReady()
        try dropBatch("a", seed: 100)
        daemon.waitUntil(60, "the first fine-tune's verdict") { status()?.fineTune.lastResult != nil }
        let first = try XCTUnwrap(status()?.fineTune.lastResult)
        print("fine-tune 1: \(first.message)")
        XCTAssertTrue(first.promoted, first.message)
        XCTAssertLessThan(try XCTUnwrap(first.candidateLoss), try XCTUnwrap(first.baselineLoss))
        XCTAssertEqual(registry.currentVersion(), "v0001")
        XCTAssertEqual(status()?.model?.version, "v0001")
        // Denoising goes on with the promoted model.
        try daemon.dropRenamed("after1.png", TestImages.png(width: 64, height: 64, seed: 7))
        daemon.waitUntil(20, "after1 delivered") { daemon.outputs().contains("after1.png") }
        let output = String(decoding: try Data(contentsOf: daemon.outbox.appendingPathComponent("after1.png")), as: UTF8.self)
        XCTAssertTrue(output.contains("v0001"), "the output's provenance should name model v0001")
        XCTAssertEqual(daemon.stop(), 0)

        // 2. Deliberately worse: a learning rate 10^4 times too large wrecks the weights → rejected.
        daemon.extraArguments = base + ["--fine-tune-learning-rate", "10"]
        try daemon.startAndWaitReady()
        try dropBatch("b", seed: 200)
        daemon.waitUntil(60, "the second fine-tune's verdict") { status()?.fineTune.lastResult?.baseVersion == "v0001" }
        let second = try XCTUnwrap(status()?.fineTune.lastResult)
        print("fine-tune 2: \(second.message)")
        XCTAssertFalse(second.promoted, second.message)
        XCTAssertEqual(registry.currentVersion(), "v0001")
        XCTAssertEqual(registry.versions().map(\.version), ["v0001"])

        // 3. Rollback with the CLI; the running daemon switches at its next rescan (2 s here).
        let cli = Process()
        cli.executableURL = DaemonHarness.binary.deletingLastPathComponent().appendingPathComponent("n2sp")
        cli.arguments = ["models", "rollback", "--state-dir", daemon.state.path]
        try cli.run()
        cli.waitUntilExit()
        XCTAssertEqual(cli.terminationStatus, 0)
        XCTAssertEqual(registry.currentVersion(), "base")
        daemon.waitUntil(10, "the daemon to switch back to base") { status()?.model?.version == "base" }
        XCTAssertEqual(daemon.stop(), 0)
    }
}
