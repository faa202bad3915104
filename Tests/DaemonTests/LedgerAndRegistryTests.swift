@testable import Daemon
import Foundation
import TestSupport
import XCTest

final class LedgerTests: XCTestCase {
    func record(_ kind: LedgerRecord.Kind, job: String, name: String = "a.png", hash: String = "h1", output: String = "/out/a.png") -> LedgerRecord {
        LedgerRecord(kind: kind, job: job, inbox: "in", name: name, hash: hash, output: output, temporary: kind == .delivering ? "/out/.t" : nil,
                     model: "base", time: Date(timeIntervalSince1970: 1_700_000_000))
    }

    func testRecordsSurviveReopenCompactionAndATornLastLine() throws {
        let directory = try Fixtures.temporaryDirectory("n2spd-ledger")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("ledger.jsonl")
        do {
            let ledger = try Ledger(url: url)
            try ledger.append(record(.delivering, job: "j1"))
            try ledger.append(record(.delivering, job: "j1", output: "/out/a (2).png"))
            try ledger.append(record(.delivered, job: "j1", output: "/out/a (2).png"))
            try ledger.append(record(.delivering, job: "j2", name: "b.png", hash: "h2", output: "/out/b.png"))
        }
        // A crash in the middle of an append leaves half a line.
        let handle = try FileHandle(forWritingTo: url)
        handle.seekToEndOfFile()
        handle.write(Data("{\"kind\":\"deliv".utf8))
        try handle.close()

        let reopened = try Ledger(url: url)
        XCTAssertEqual(reopened.record(job: "j1")?.kind, .delivered)
        XCTAssertEqual(reopened.record(job: "j1")?.output, "/out/a (2).png")
        XCTAssertEqual(reopened.record(job: "j2")?.kind, .delivering)
        XCTAssertEqual(reopened.delivered(inbox: "in", name: "a.png", hash: "h1")?.output, "/out/a (2).png")
        XCTAssertNil(reopened.delivered(inbox: "in", name: "a.png", hash: "other"), "a different content is a different input")
        XCTAssertNil(reopened.delivered(inbox: "in", name: "b.png", hash: "h2"), "delivering is not delivered")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2, "compacted to the latest record per job, torn line dropped")
    }
}

final class ModelRegistryTests: XCTestCase {
    func testPromoteKeepsTheLastKAndRollbackMovesThePointer() throws {
        let directory = try Fixtures.temporaryDirectory("n2spd-registry")
        defer { try? FileManager.default.removeItem(at: directory) }
        let registry = try ModelRegistry(directory: directory)
        XCTAssertEqual(registry.currentVersion(), "base")
        XCTAssertNil(registry.previousVersion())
        var promoted: [String] = []
        for i in 1...4 {
            let candidate = directory.appendingPathComponent(".candidate\(i)")
            try Data("weights \(i)".utf8).write(to: candidate)
            promoted.append(try registry.promote(candidate: candidate, parent: registry.currentVersion(),
                                                 measurement: FineTuneMeasurement(steps: 5, baselineLoss: 1, candidateLoss: 0.5), keep: 2))
            XCTAssertFalse(FileManager.default.fileExists(atPath: candidate.path))
        }
        XCTAssertEqual(promoted, ["v0001", "v0002", "v0003", "v0004"])
        XCTAssertEqual(registry.currentVersion(), "v0004")
        XCTAssertEqual(registry.versions().map(\.version), ["v0003", "v0004"], "keep_models = 2")
        XCTAssertEqual(registry.versions().last?.parent, "v0003")
        XCTAssertEqual(try String(contentsOf: registry.fileURL(of: "v0004"), encoding: .utf8), "weights 4")

        XCTAssertEqual(registry.previousVersion(), "v0003")
        try registry.setCurrent("v0003")
        XCTAssertEqual(registry.currentVersion(), "v0003")
        XCTAssertEqual(registry.modelPath(of: "v0003", base: nil)?.lastPathComponent, "v0003.safetensors")
        try registry.setCurrent("base")
        XCTAssertEqual(registry.modelPath(of: registry.currentVersion(), base: URL(fileURLWithPath: "/m")), URL(fileURLWithPath: "/m"))
        XCTAssertThrowsError(try registry.setCurrent("v0001")) { error in
            XCTAssertEqual(error as? RegistryError, .unknownVersion("v0001", known: ["base", "v0003", "v0004"]))
        }
        // The current version survives pruning even when it is old.
        try registry.setCurrent("v0003")
        let candidate = directory.appendingPathComponent(".candidate5")
        try Data("weights 5".utf8).write(to: candidate)
        _ = try registry.promote(candidate: candidate, parent: "v0003", measurement: FineTuneMeasurement(steps: 1, baselineLoss: 1, candidateLoss: 0), keep: 1)
        XCTAssertEqual(registry.versions().map(\.version), ["v0005"])
    }

    func testFineTunePolicy() {
        let now = Date()
        var policy = FineTunePolicy(everyImages: 10, everyHours: 0)
        XCTAssertFalse(InboxDaemon.fineTuneDue(policy: policy, imagesSinceLast: 9, lastRun: nil, now: now))
        XCTAssertTrue(InboxDaemon.fineTuneDue(policy: policy, imagesSinceLast: 10, lastRun: nil, now: now))
        policy = FineTunePolicy(everyImages: 0, everyHours: 2)
        XCTAssertFalse(InboxDaemon.fineTuneDue(policy: policy, imagesSinceLast: 0, lastRun: nil, now: now), "nothing new: nothing to learn")
        XCTAssertFalse(InboxDaemon.fineTuneDue(policy: policy, imagesSinceLast: 3, lastRun: now.addingTimeInterval(-3600), now: now))
        XCTAssertTrue(InboxDaemon.fineTuneDue(policy: policy, imagesSinceLast: 3, lastRun: now.addingTimeInterval(-7300), now: now))
        policy.enabled = false
        XCTAssertFalse(InboxDaemon.fineTuneDue(policy: policy, imagesSinceLast: 3, lastRun: now.addingTimeInterval(-7300), now: now))
    }
}
