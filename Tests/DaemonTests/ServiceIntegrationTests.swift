import Foundation
import XCTest

/// Config-file mode: SIGHUP re-reads the file (a bad edit keeps the old config); transient failures retry.
final class ServiceIntegrationTests: XCTestCase {
    func writeConfig(_ daemon: DaemonHarness, inboxes: [(String, String)], extra: String = "") throws -> URL {
        let url = daemon.root.appendingPathComponent("n2spd.toml")
        var text = """
            state_directory = "\(daemon.state.path)"
            settle_time = "300ms"
            rescan_interval = "2s"
            retry_backoff = "200ms"
            \(extra)

            [fine_tune]
            enabled = false

            """
        for (name, folder) in inboxes {
            text += """

                [[inbox]]
                name = "\(name)"
                path = "\(daemon.root.appendingPathComponent(folder).path)"
                outbox = "\(daemon.outbox.path)"

                """
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testReloadReadsTheConfigAgainAndKeepsTheOldOneWhenTheNewIsBad() throws {
        let daemon = try DaemonHarness()
        let config = try writeConfig(daemon, inboxes: [("first", "inbox")], extra: "provenance_sidecar = true")
        try daemon.start(arguments: ["--config", config.path, "--processor", "copy"])
        daemon.waitUntil(10, "ready") { daemon.log.contains("ready:") }
        let second = daemon.root.appendingPathComponent("second")

        // Add a second inbox, reload: it is watched.
        _ = try writeConfig(daemon, inboxes: [("first", "inbox"), ("second", "second")], extra: "provenance_sidecar = true")
        let pid = try XCTUnwrap(daemon.process?.processIdentifier)
        kill(pid, SIGHUP)
        daemon.waitUntil(10, "the reload") { daemon.log.components(separatedBy: "reloading (SIGHUP)").count == 2 && FileManager.default.fileExists(atPath: second.path) }
        usleep(200_000)
        try TestImages.png(seed: 1).write(to: daemon.staging.appendingPathComponent("x.png"))
        XCTAssertEqual(rename(daemon.staging.appendingPathComponent("x.png").path, second.appendingPathComponent("x.png").path), 0)
        daemon.waitUntil(10, "the second inbox to be served") { daemon.outputs() == ["x.png", "x.png.json"] }
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: daemon.outbox.appendingPathComponent("x.png.json"))) as? [String: String]
        XCTAssertEqual(sidecar?["input.name"], "x.png")
        XCTAssertEqual(sidecar?["model.version"], "base")
        XCTAssertEqual(sidecar?["input.sha256"]?.count, 64)
        daemon.waitUntil(5, "x.png in the second inbox's done/") {
            FileManager.default.fileExists(atPath: daemon.state.appendingPathComponent("inboxes/second/done/x.png").path)
        }

        // A bad edit: logged with its line, the running config stays.
        try "worker_threads = 2\nbogus = 1\n".write(to: config, atomically: true, encoding: .utf8)
        kill(pid, SIGHUP)
        daemon.waitUntil(10, "the bad reload to be reported") { daemon.log.contains("n2spd.toml:2: unknown key 'bogus'") }
        try daemon.dropRenamed("y.png", TestImages.png(seed: 2))
        daemon.waitUntil(10, "the first inbox still served") { daemon.outputs() == ["x.png", "x.png.json", "y.png", "y.png.json"] }
        XCTAssertEqual(daemon.stop(), 0)
    }

    func testTransientDeliveryFailuresAreRetriedUntilTheyPass() throws {
        let daemon = try DaemonHarness()
        try daemon.startAndWaitReady()
        // The outbox turns into a file: writing outputs fails (ENOTDIR), which is not the image's fault.
        try FileManager.default.removeItem(at: daemon.outbox)
        try Data().write(to: daemon.outbox)
        try daemon.dropRenamed("r.png", TestImages.png(seed: 3))
        daemon.waitUntil(10, "a retry to be scheduled") { daemon.log.contains("retry 1 in") }
        XCTAssertEqual(daemon.files(in: daemon.failed), [], "a transient failure must not fail the input")
        // Repaired: the back-off retry delivers it.
        try FileManager.default.removeItem(at: daemon.outbox)
        try FileManager.default.createDirectory(at: daemon.outbox, withIntermediateDirectories: false)
        daemon.waitUntil(15, "the retried delivery") { daemon.outputs() == ["r.png"] }
        daemon.waitUntil(5, "the input in done/") { daemon.files(in: daemon.done) == ["r.png"] }
        XCTAssertEqual(daemon.stop(), 0)
    }
}
