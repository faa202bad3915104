import CDaemonSys
import Glibc

/// The write end the signal handler uses; set once before handlers are installed.
nonisolated(unsafe) private var signalWriteFD: Int32 = -1

/// Turns SIGTERM / SIGINT / SIGHUP into bytes on a pipe the main loop polls (the self-pipe trick): the
/// handler only calls write(2), which is async-signal-safe, and whichever thread the kernel picks to run
/// it (OpenBLAS and the workers have threads too) the main loop sees the signal.
final class SignalPipe {
    let readFD: Int32

    init(signals: [Int32]) throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        guard n2spd_pipe_nonblocking(&fds) == 0 else { throw SystemError("pipe2", path: "-") }
        readFD = fds[0]
        signalWriteFD = fds[1]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            var byte = UInt8(truncatingIfNeeded: signal)
            _ = write(signalWriteFD, &byte, 1)
        }
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        for signal in signals { sigaction(signal, &action, nil) }
        // A closed stdout/stderr reader must not kill the daemon.
        Glibc.signal(SIGPIPE, SIG_IGN)
    }

    /// Delivers `signal` to the main loop as if the kernel had (for embedding and in-process tests).
    func inject(_ signal: Int32) {
        var byte = UInt8(truncatingIfNeeded: signal)
        _ = write(signalWriteFD, &byte, 1)
    }

    /// Signals received since the last call, in order.
    func take() -> [Int32] {
        var buffer = [UInt8](repeating: 0, count: 64)
        var signals: [Int32] = []
        while true {
            let n = read(readFD, &buffer, buffer.count)
            if n <= 0 { break }
            signals += buffer[0..<n].map { Int32($0) }
        }
        return signals
    }
}
