@testable import Daemon
import Foundation
import TestSupport
import XCTest

final class ConfigurationTests: XCTestCase {
    let file = URL(fileURLWithPath: "/etc/n2spd/test.toml")

    func parse(_ text: String) throws -> DaemonConfiguration { try ConfigurationLoader.parse(text, file: file) }

    func expectError(_ text: String, _ expected: ConfigurationError, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), line: line) { error in
            XCTAssertEqual(error as? ConfigurationError, expected, line: line)
        }
    }

    func testExampleConfigParsesWithEveryKey() throws {
        let example = Fixtures.repositoryRoot.appendingPathComponent("config/n2spd.example.toml")
        let config = try ConfigurationLoader.load(file: example)
        XCTAssertEqual(config.stateDirectory.path, "/var/lib/n2spd")
        XCTAssertEqual(config.inboxes.count, 1)
        XCTAssertEqual(config.inboxes[0].name, "default")
        XCTAssertEqual(config.inboxes[0].doneDirectory.path, "/srv/n2spd/done")
        XCTAssertEqual(config.memoryBudgetBytes, 1 << 30)
        XCTAssertEqual(config.settleTime, 2)
        XCTAssertEqual(config.rescanInterval, 60)
        XCTAssertEqual(config.fineTune, FineTunePolicy())
    }

    func testDefaultsAndUnits() throws {
        let config = try parse("""
            state_directory = "state"
            memory_budget = "512MiB"
            settle_time = "500ms"
            rescan_interval = "5min"
            max_file_size = 1000

            [[inbox]]
            path = "/srv/a"
            outbox = "/srv/a-out"

            [[inbox]]
            name = "scans"
            path = "/srv/b"
            outbox = "/srv/b-out"
            on_success = "delete"
            patterns = ["*.tif.png"]
            model = "/models/m.safetensors"

            [fine_tune]
            every_images = 0
            every_hours = 1.5
            keep_models = 3
            """)
        XCTAssertEqual(config.stateDirectory.path, "/etc/n2spd/state", "relative paths are relative to the config file")
        XCTAssertEqual(config.memoryBudgetBytes, 512 << 20)
        XCTAssertEqual(config.settleTime, 0.5)
        XCTAssertEqual(config.rescanInterval, 300)
        XCTAssertEqual(config.maxFileSizeBytes, 1000)
        XCTAssertEqual(config.workerThreads, DaemonConfiguration.Defaults.workerThreads)
        XCTAssertEqual(config.inboxes[0].name, "a")
        XCTAssertEqual(config.inboxes[0].doneDirectory.path, "/etc/n2spd/state/inboxes/a/done")
        XCTAssertEqual(config.inboxes[0].failedDirectory.path, "/etc/n2spd/state/inboxes/a/failed")
        XCTAssertEqual(config.inboxes[0].patterns, DaemonConfiguration.Defaults.patterns)
        XCTAssertTrue(config.inboxes[0].feedsTrainingPool)
        XCTAssertEqual(config.inboxes[1].onSuccess, .delete)
        XCTAssertEqual(config.inboxes[1].model?.path, "/models/m.safetensors")
        XCTAssertFalse(config.inboxes[1].feedsTrainingPool, "inboxes with their own model do not feed fine-tuning by default")
        XCTAssertEqual(config.fineTune.everyHours, 1.5)
        XCTAssertEqual(config.fineTune.keepModels, 3)
    }

    func testUnknownKeysAreRejectedWithTheirLine() {
        expectError("""
            worker_threads = 2

            [[inbox]]
            path = "/a"
            outbox = "/b"
            patern = ["*.png"]
            """, .unknownKey(file: file.path, line: 6, keyPath: "inbox[0].patern"))
        expectError("""
            [[inbox]]
            path = "/a"
            outbox = "/b"

            [fine_tune]
            step_budget = 10
            evry_images = 3
            """, .unknownKey(file: file.path, line: 7, keyPath: "fine_tune.evry_images"))
        expectError("""
            [[inbox]]
            path = "/a"
            outbox = "/b"
            [finetune]
            """, .unknownKey(file: file.path, line: 4, keyPath: "finetune"))
    }

    func testBadValuesAreRejectedWithLineAndReason() {
        let inbox = "\n[[inbox]]\npath = \"/a\"\noutbox = \"/b\"\n"
        expectError("worker_threads = 0" + inbox,
                    .invalidValue(file: file.path, line: 1, keyPath: "worker_threads", reason: "0 is outside 1…64"))
        expectError("\nsettle_time = \"soon\"" + inbox,
                    .invalidValue(file: file.path, line: 2, keyPath: "settle_time",
                                  reason: "expected seconds (a number) or a string like \"500ms\", \"2s\", \"5min\", \"24h\""))
        expectError("log_level = 3" + inbox,
                    .invalidValue(file: file.path, line: 1, keyPath: "log_level", reason: "expected a string, found an integer"))
        expectError("[[inbox]]\npath = \"/a\"\noutbox = \"/b\"\non_success = \"keep\"\n",
                    .invalidValue(file: file.path, line: 4, keyPath: "inbox[0].on_success", reason: "'keep' is not one of move, delete"))
        expectError("[[inbox]]\npath = \"/a\"\noutbox = \"/a\"\n",
                    .invalidValue(file: file.path, line: 3, keyPath: "inbox[0].outbox",
                                  reason: "the outbox must not be the inbox (outputs would be denoised again)"))
        expectError("[[inbox]]\npath = \"/a\"\noutbox = \"/b\"\n[[inbox]]\npath = \"/a\"\noutbox = \"/c\"\n",
                    .invalidValue(file: file.path, line: 5, keyPath: "inbox[1].path", reason: "the same folder is already inbox[0]"))
        expectError("[[inbox]]\noutbox = \"/b\"\n", .missingKey(file: file.path, line: 1, keyPath: "inbox[0].path"))
        expectError("worker_threads = 1\n", .missingKey(file: file.path, line: nil, keyPath: "inbox"))
    }

    func testSyntaxErrorsNameTheLine() {
        XCTAssertThrowsError(try parse("[[inbox]]\npath = \"/a\noutbox = \"/b\"\n")) { error in
            guard case .syntax(let path, let line, _, let message)? = error as? ConfigurationError else {
                return XCTFail("expected a syntax error, got \(error)")
            }
            XCTAssertEqual(path, file.path)
            XCTAssertEqual(line, 2)
            XCTAssertFalse(message.isEmpty)
        }
    }

    func testUnits() {
        XCTAssertEqual(Units.seconds("250ms"), 0.25)
        XCTAssertEqual(Units.seconds("24h"), 86400)
        XCTAssertEqual(Units.seconds("-1"), nil)
        XCTAssertEqual(Units.bytes("2GiB"), 2 << 30)
        XCTAssertEqual(Units.bytes("1.5K"), 1536)
        XCTAssertEqual(Units.bytes("lots"), nil)
    }

    func testNameFilter() {
        let patterns = DaemonConfiguration.Defaults.patterns
        XCTAssertTrue(InboxDaemon.accepts("a.png", patterns: patterns))
        XCTAssertTrue(InboxDaemon.accepts("IMG_1.JPG", patterns: patterns))
        XCTAssertFalse(InboxDaemon.accepts(".a.png", patterns: patterns))
        XCTAssertFalse(InboxDaemon.accepts("a.png.part", patterns: patterns))
        XCTAssertFalse(InboxDaemon.accepts("a.png.TMP", patterns: patterns))
        XCTAssertFalse(InboxDaemon.accepts("a.txt", patterns: patterns))
    }
}

