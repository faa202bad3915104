import Foundation
import XCTest

/// A fake systemd: an AF_UNIX datagram socket in the abstract namespace as `$NOTIFY_SOCKET`.
final class NotifyIntegrationTests: XCTestCase {
    func testReadyStatusWatchdogReloadAndStopping() throws {
        let (name, fd) = try bindNotifySocket()
        defer { close(fd) }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var messages: [String] = []
        func receive(until deadline: Double, _ done: ([String]) -> Bool) -> Bool {
            let end = Date().addingTimeInterval(deadline)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while Date() < end {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 { messages.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
                if done(messages) { return true }
            }
            return false
        }

        let daemon = try DaemonHarness()
        daemon.environment = ["NOTIFY_SOCKET": "@\(name)", "WATCHDOG_USEC": "400000"]
        try daemon.start()
        XCTAssertTrue(receive(until: 15) { $0.contains { $0.contains("READY=1") } }, "no READY=1: \(messages)\n\(daemon.log)")
        let ready = try XCTUnwrap(messages.first { $0.contains("READY=1") })
        XCTAssertTrue(ready.contains("STATUS=queue 0, done 0, failed 0, model base"), ready)
        XCTAssertTrue(messages.first?.contains("EXTEND_TIMEOUT_USEC=") == true, "EXTEND_TIMEOUT_USEC must come first, while the model loads")
        // The watchdog is pinged every WATCHDOG_USEC/2 = 0.2 s.
        messages = []
        XCTAssertTrue(receive(until: 3) { $0.filter { $0 == "WATCHDOG=1" }.count >= 3 }, "watchdog pings: \(messages)")

        // STATUS changes when work is done.
        try daemon.dropRenamed("a.png", TestImages.png(seed: 1))
        XCTAssertTrue(receive(until: 10) { $0.contains { $0.contains("STATUS=queue 0, done 1, failed 0") } }, "\(messages)")

        // SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1.
        messages = []
        kill(try XCTUnwrap(daemon.process?.processIdentifier), SIGHUP)
        XCTAssertTrue(receive(until: 10) { list in
            guard let reloading = list.firstIndex(where: { $0.contains("RELOADING=1") }) else { return false }
            return list[(reloading + 1)...].contains { $0.contains("READY=1") }
        }, "\(messages)")
        let reloading = try XCTUnwrap(messages.first { $0.contains("RELOADING=1") })
        XCTAssertNotNil(reloading.split(separator: "\n").first { $0.hasPrefix("MONOTONIC_USEC=") && UInt64($0.dropFirst(15)) != nil }, reloading)

        // SIGTERM: STOPPING=1 and exit 0.
        messages = []
        let status = daemon.stop()
        XCTAssertTrue(receive(until: 2) { $0.contains { $0.contains("STOPPING=1") } }, "\(messages)")
        XCTAssertEqual(status, 0)
    }

    /// A manager that stops reading its socket (queue full) must not freeze the daemon: n2spd's main loop
    /// sent with a blocking sendto, so after max_dgram_qlen (10 by default) unread datagrams it hung in
    /// unix_wait_for_peer and took no files and ignored SIGTERM (found by scripts/bench-daemon.sh).
    func testAManagerThatStopsReadingDoesNotFreezeTheDaemon() throws {
        let (name, fd) = try bindNotifySocket()
        defer { close(fd) }
        let daemon = try DaemonHarness()
        // A ping every 10 ms fills the unread queue fast, whatever net.unix.max_dgram_qlen is.
        daemon.environment = ["NOTIFY_SOCKET": "@\(name)", "WATCHDOG_USEC": "20000"]
        try daemon.startAndWaitReady()
        let queueLength = (try? String(contentsOfFile: "/proc/sys/net/unix/max_dgram_qlen", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 512
        // Long enough for twice the queue's worth of pings (capped: the socket's send buffer fills by then too).
        usleep(UInt32(min(max(Double(queueLength) / 100 * 2, 1), 12) * 1_000_000))

        try daemon.dropRenamed("a.png", TestImages.png(seed: 1))
        XCTAssertTrue(daemon.waitUntil(10, "a.png to be delivered while nobody reads the notify socket") { daemon.outputs() == ["a.png"] })
        // Before the fix the daemon ignored SIGTERM here: wait a bounded time, then kill it so the test fails, not hangs.
        let process = try XCTUnwrap(daemon.process)
        process.terminate()
        if daemon.waitUntil(10, "n2spd to exit after SIGTERM", { !process.isRunning }) {
            XCTAssertEqual(process.terminationStatus, 0)
            daemon.process = nil
        } else {
            daemon.kill9()
        }
    }

    /// An AF_UNIX datagram socket bound to a fresh abstract name (the `@name` form of `$NOTIFY_SOCKET`).
    private func bindNotifySocket() throws -> (name: String, fd: Int32) {
        let name = "n2spd-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = [UInt8(0)] + Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        return (name, fd)
    }
}
