import Foundation
import Glibc

/// sd_notify(3) without libsystemd: one datagram per message to `$NOTIFY_SOCKET` (a path, or an abstract
/// socket written with a leading `@`). Does nothing when the variable is unset (not started by systemd).
final class SystemdNotifier {
    private let socketFD: Int32
    private var address = sockaddr_un()
    private let addressLength: socklen_t
    /// From `$WATCHDOG_USEC` when the watchdog is meant for this process (`$WATCHDOG_PID` unset or ours).
    let watchdogInterval: Double?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0,
           environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true {
            watchdogInterval = Double(usec) / 1e6
        } else {
            watchdogInterval = nil
        }
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.hasPrefix("/") || path.hasPrefix("@"),
              path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            socketFD = -1
            addressLength = 0
            return
        }
        socketFD = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        // Abstract names are exactly their bytes; file paths include the terminating NUL.
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
    }

    deinit { if socketFD >= 0 { close(socketFD) } }

    var isActive: Bool { socketFD >= 0 }

    /// Notifications dropped since the last one that went through (0: the manager is keeping up).
    private var dropped = 0

    /// Sends `KEY=value` lines as one datagram, never blocking the caller for long.
    ///
    /// A blocking `sendto` on a datagram socket waits while the receiver's queue is full
    /// (`net.unix.max_dgram_qlen`, only 10 on kernels without systemd's sysctl defaults), and the caller is
    /// the main loop: a manager that stops reading would freeze intake, delivery and even SIGTERM handling.
    /// So: non-blocking sends. State changes (READY, RELOADING, STOPPING) are retried for up to 2 s, because
    /// losing one makes systemd misjudge the service; WATCHDOG/STATUS/EXTEND_TIMEOUT are dropped at once (the
    /// next one supersedes them, and a manager that reads nothing is not watching either).
    func send(_ lines: String...) {
        guard socketFD >= 0 else { return }
        let message = lines.joined(separator: "\n")
        let isStateChange = lines.contains { $0 == "READY=1" || $0 == "RELOADING=1" || $0 == "STOPPING=1" }
        let deadline = Self.monotonicMicroseconds() + (isStateChange ? 2_000_000 : 0)
        while true {
            let result = message.withCString { text in
                withUnsafePointer(to: &address) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(socketFD, text, strlen(text), Int32(MSG_NOSIGNAL | MSG_DONTWAIT), $0, addressLength)
                    }
                }
            }
            if result >= 0 {
                if dropped > 0 { Journal.notice("sd_notify: the service manager reads notifications again (\(dropped) dropped)") }
                dropped = 0
                return
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN && Self.monotonicMicroseconds() < deadline {
                usleep(10_000)
                continue
            }
            if code == EAGAIN {
                if dropped == 0 { Journal.warning("sd_notify: the service manager's socket is full; dropping notifications until it reads again") }
                dropped += 1
            } else {
                Journal.debug("sd_notify: sendto failed: \(String(cString: strerror(code)))")
            }
            return
        }
    }

    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}
