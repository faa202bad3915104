@testable import Daemon
import Foundation
import Synchronization
import TestSupport
import XCTest

/// A test double for the trainer: reports the losses the test scripts, writes a recognisable candidate
/// file, and takes a while (so the test can check that denoising continues meanwhile).
final class ScriptedFineTuner: FineTuner {
    struct Plan { var baseline: Double; var candidate: Double }
    let plans: Mutex<[Plan]>
    let requests = Mutex<[FineTuneRequest]>([])
    let running = Atomic<Bool>(false)
    let stepSeconds: Double

    init(plans: [Plan], stepSeconds: Double = 0.05) {
        self.plans = Mutex(plans)
        self.stepSeconds = stepSeconds
    }

    func fineTune(_ request: FineTuneRequest, progress: @Sendable (Int) -> Void, shouldStop: @Sendable () -> Bool) throws -> FineTuneMeasurement {
        running.store(true, ordering: .relaxed)
        defer { running.store(false, ordering: .relaxed) }
        requests.withLock { $0.append(request) }
        var steps = 0
        for step in 1...request.stepBudget where !shouldStop() {
            usleep(UInt32(stepSeconds * 1e6))
            progress(step)
            steps = step
        }
        let plan = plans.withLock { $0.removeFirst() }
        try Data("candidate from \(request.baseVersion)".utf8).write(to: request.candidateOutput)
        return FineTuneMeasurement(steps: steps, baselineLoss: plan.baseline, candidateLoss: plan.candidate)
    }
}

/// The daemon in-process with the copy processor and the scripted fine-tuner: the promotion gate, hot swap
/// and rollback.
final class FineTuneSchedulingTests: XCTestCase {
    final class DaemonBox: @unchecked Sendable {
        let daemon: InboxDaemon
        init(_ daemon: InboxDaemon) { self.daemon = daemon }
    }

    func testBetterCandidateIsPromotedWorseIsRejectedAndRollbackSwitchesBack() throws {
        let root = try Fixtures.temporaryDirectory("n2spd-finetune")
        defer { try? FileManager.default.removeItem(at: root) }
        let state = root.appendingPathComponent("state")
        let inbox = InboxConfiguration(
            name: "in", path: root.appendingPathComponent("in"), outbox: root.appendingPathComponent("out"),
            doneDirectory: root.appendingPathComponent("done"), failedDirectory: root.appendingPathComponent("failed"))
        var configuration = DaemonConfiguration(stateDirectory: state, inboxes: [inbox])
        configuration.settleTime = 0.1
        configuration.rescanInterval = 0.5
        configuration.logLevel = .warning
        configuration.fineTune = FineTunePolicy(everyImages: 3, everyHours: 0, stepBudget: 20, heldOutFraction: 0.3, keepModels: 3)
        let tuner = ScriptedFineTuner(plans: [.init(baseline: 1.0, candidate: 0.8), .init(baseline: 0.8, candidate: 0.95)])
        let daemon = try InboxDaemon(configuration: configuration, factory: CopyProcessorFactory(), fineTuner: tuner)
        let box = DaemonBox(daemon)
        let exited = Atomic<Int>(-1)
        let thread = Thread { exited.store(Int(box.daemon.run()), ordering: .relaxed) }
        thread.start()
        defer { if exited.load(ordering: .relaxed) < 0 { daemon.requestStop() } }
        let registry = try ModelRegistry(directory: state.appendingPathComponent("models"))
        let ledger = state.appendingPathComponent("ledger.jsonl")

        func drop(_ name: String, seed: Int) throws {
            let staged = root.appendingPathComponent(name)
            try TestImages.png(seed: seed).write(to: staged)
            XCTAssertEqual(rename(staged.path, inbox.path.appendingPathComponent(name).path), 0)
        }
        func wait(_ what: String, timeout: Double = 15, _ condition: () -> Bool) {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline { if condition() { return }; usleep(20_000) }
            XCTFail("timed out waiting for \(what)")
        }
        func model(of name: String) -> String? {
            guard let text = try? String(contentsOf: ledger, encoding: .utf8) else { return nil }
            return text.split(separator: "\n").reversed().compactMap { line -> String? in
                guard let record = try? Ledger.decoder.decode(LedgerRecord.self, from: Data(line.utf8)),
                      record.kind == .delivered, record.name == name else { return nil }
                return record.model
            }.first
        }
        func status() -> DaemonStatus? { try? DaemonStatus.read(stateDirectory: state) }

        // 3 images → a fine-tune from base; the candidate's held-out loss 0.8 < 1.0 → promoted as v0001.
        for i in 0..<3 { try drop("a\(i).png", seed: i) }
        wait("the first fine-tune to start") { tuner.running.load(ordering: .relaxed) }
        // Denoising continues while it trains.
        try drop("during.png", seed: 50)
        wait("an image processed during training") { model(of: "during.png") != nil }
        XCTAssertTrue(tuner.running.load(ordering: .relaxed), "training should still be running (20 steps × 50 ms)")
        wait("status to show training progress") { status()?.fineTune.state == "running" && (status()?.fineTune.step ?? 0) > 0 }
        wait("promotion of v0001") { registry.currentVersion() == "v0001" }
        wait("the status to show the promotion") { status()?.fineTune.lastResult?.promoted == true }
        XCTAssertEqual(status()?.fineTune.lastResult?.version, "v0001")
        XCTAssertEqual(status()?.model?.version, "v0001")
        let first = try XCTUnwrap(tuner.requests.withLock { $0.first })
        XCTAssertEqual(first.baseVersion, "base")
        XCTAssertFalse(first.trainingFiles.isEmpty)
        XCTAssertFalse(first.heldOutFiles.isEmpty)
        XCTAssertTrue(Set(first.trainingFiles).isDisjoint(with: first.heldOutFiles), "held-out images must not be trained on")
        XCTAssertEqual(first.stepBudget, 20)

        // New images run on the promoted model (hot swap).
        try drop("b0.png", seed: 10)
        wait("b0 delivered") { model(of: "b0.png") != nil }
        XCTAssertEqual(model(of: "b0.png"), "v0001")

        // 3 more → a fine-tune from v0001 whose candidate is worse (0.95 > 0.8) → rejected, v0001 stays.
        for i in 1..<3 { try drop("b\(i).png", seed: 10 + i) }
        wait("the second fine-tune's verdict") { tuner.requests.withLock { $0.count } == 2 && status()?.fineTune.lastResult?.promoted == false }
        XCTAssertEqual(tuner.requests.withLock { $0.last?.baseVersion }, "v0001")
        XCTAssertEqual(tuner.requests.withLock { $0.last?.baseModel?.lastPathComponent }, "v0001.safetensors")
        XCTAssertEqual(registry.currentVersion(), "v0001")
        XCTAssertEqual(registry.versions().map(\.version), ["v0001"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: registry.directory.path).filter { $0.hasPrefix(".candidate") }
        XCTAssertEqual(leftovers, [], "a rejected candidate must be deleted")

        // Rollback (what `n2sp models rollback` does): the daemon switches at its next rescan.
        try registry.setCurrent(XCTUnwrap(registry.previousVersion()))
        XCTAssertEqual(registry.currentVersion(), "base")
        wait("the daemon to switch back to base") { status()?.model?.version == "base" }
        try drop("c0.png", seed: 20)
        wait("c0 delivered") { model(of: "c0.png") != nil }
        XCTAssertEqual(model(of: "c0.png"), "base")

        daemon.requestStop()
        wait("the daemon to stop") { exited.load(ordering: .relaxed) >= 0 }
        XCTAssertEqual(exited.load(ordering: .relaxed), 0)
    }
}
