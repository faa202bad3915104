@testable import Daemon
import Foundation
import TestSupport
import XCTest

/// `JobRunner.recover` at each point where a crash can interrupt the delivery protocol.
final class RecoveryStepTests: XCTestCase {
    var root: URL!
    var inbox: InboxConfiguration!
    var ledger: Ledger!
    var runner: JobRunner!

    override func setUpWithError() throws {
        root = try Fixtures.temporaryDirectory("n2spd-recover")
        inbox = InboxConfiguration(name: "in", path: root.appendingPathComponent("in"), outbox: root.appendingPathComponent("out"),
                                   doneDirectory: root.appendingPathComponent("done"), failedDirectory: root.appendingPathComponent("failed"))
        try InboxDaemon.prepare(inbox)
        ledger = try Ledger(url: root.appendingPathComponent("ledger.jsonl"))
        runner = JobRunner(ledger: ledger, configuration: DaemonConfiguration(stateDirectory: root, inboxes: [inbox]), pool: nil)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    /// A claimed input and, optionally, a finished temp output and ledger records.
    func claim(_ name: String, temp: Bool, records: [LedgerRecord.Kind], output: String? = nil) throws -> Job {
        let job = Job(id: "jtest\(name.hashValue & 0xffff)-1-1", originalName: name, inbox: inbox)
        try Data("input \(name)".utf8).write(to: URL(fileURLWithPath: job.claimedPath))
        if temp { try Data("output \(name)".utf8).write(to: URL(fileURLWithPath: job.temporaryOutputPath)) }
        for kind in records {
            try ledger.append(LedgerRecord(kind: kind, job: job.id, inbox: "in", name: name, hash: "h-\(name)",
                                           output: output ?? inbox.outbox.appendingPathComponent(name).path,
                                           temporary: job.temporaryOutputPath, model: "base", time: Date()))
        }
        return job
    }

    func outputs() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: inbox.outbox.path)) ?? []).sorted() }
    func done() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: inbox.doneDirectory.path)) ?? []).sorted() }

    func testCrashBeforeAnyLedgerRecordReprocesses() throws {
        let job = try claim("a.png", temp: true, records: [])
        XCTAssertNil(runner.recover(job), "no ledger record: process it again")
    }

    func testCrashAfterDeliveringRecordBeforeLinkCompletesTheDelivery() throws {
        let job = try claim("b.png", temp: true, records: [.delivering])
        XCTAssertEqual(runner.recover(job), .delivered(output: inbox.outbox.appendingPathComponent("b.png").path, model: "base"))
        XCTAssertEqual(outputs(), ["b.png"])
        XCTAssertEqual(try String(contentsOf: inbox.outbox.appendingPathComponent("b.png"), encoding: .utf8), "output b.png")
        XCTAssertEqual(done(), ["b.png"])
        XCTAssertEqual(ledger.record(job: job.id)?.kind, .delivered)
    }

    func testCrashAfterLinkBeforeUnlinkingTheTempKeepsOneOutput() throws {
        let job = try claim("c.png", temp: true, records: [.delivering])
        XCTAssertEqual(link(job.temporaryOutputPath, inbox.outbox.appendingPathComponent("c.png").path), 0)
        XCTAssertEqual(runner.recover(job), .delivered(output: inbox.outbox.appendingPathComponent("c.png").path, model: "base"))
        XCTAssertEqual(outputs(), ["c.png"], "the temp name must be gone and no second output made")
        XCTAssertEqual(done(), ["c.png"])
    }

    func testCrashAfterUnlinkBeforeDeliveredRecordFinishes() throws {
        let job = try claim("d.png", temp: false, records: [.delivering])
        try Data("output d.png".utf8).write(to: inbox.outbox.appendingPathComponent("d.png"))
        XCTAssertEqual(runner.recover(job), .delivered(output: inbox.outbox.appendingPathComponent("d.png").path, model: "base"))
        XCTAssertEqual(outputs(), ["d.png"])
        XCTAssertEqual(ledger.record(job: job.id)?.kind, .delivered)
    }

    func testCrashBeforeLinkWhenTheNameWasTakenMeanwhilePicksAnotherName() throws {
        let job = try claim("e.png", temp: true, records: [.delivering])
        try Data("someone else's".utf8).write(to: inbox.outbox.appendingPathComponent("e.png"))
        XCTAssertEqual(runner.recover(job), .delivered(output: inbox.outbox.appendingPathComponent("e (2).png").path, model: "base"))
        XCTAssertEqual(outputs(), ["e (2).png", "e.png"])
        XCTAssertEqual(try String(contentsOf: inbox.outbox.appendingPathComponent("e.png"), encoding: .utf8), "someone else's")
    }

    func testCrashAfterDeliveredRecordOnlyMovesTheInput() throws {
        let job = try claim("f.png", temp: false, records: [.delivering, .delivered])
        try Data("output f.png".utf8).write(to: inbox.outbox.appendingPathComponent("f.png"))
        XCTAssertEqual(runner.recover(job), .delivered(output: inbox.outbox.appendingPathComponent("f.png").path, model: "base"))
        XCTAssertEqual(outputs(), ["f.png"])
        XCTAssertEqual(done(), ["f.png"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: job.claimedPath))
    }

    func testOutputRemovedByUserBeforeRecoveryIsMadeAgain() throws {
        let job = try claim("g.png", temp: false, records: [.delivering])
        XCTAssertNil(runner.recover(job))
    }
}
