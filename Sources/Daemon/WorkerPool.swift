import CDaemonSys
import Foundation
import Glibc

/// A fixed set of worker threads running jobs; completions go back to the main loop through a queue and a
/// wake-up pipe the main loop polls. Threads rather than Swift concurrency: each job is a long, blocking,
/// CPU-bound call into the numeric engine, and the main loop is a plain poll(2) loop.
final class WorkerPool: @unchecked Sendable {
    struct Work {
        var job: Job
        var processor: any ImageProcessor
    }

    struct Completion: Sendable {
        var job: Job
        var outcome: JobOutcome
        var seconds: Double
    }

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [Work] = []
    private var completions: [Completion] = []
    private var running = 0
    private var shuttingDown = false

    /// The main loop polls this descriptor; a byte arrives with each completion.
    let wakeFD: Int32
    private let wakeWriteFD: Int32
    private let runner: JobRunner

    init(threads: Int, runner: JobRunner) throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        guard n2spd_pipe_nonblocking(&fds) == 0 else { throw SystemError("pipe2", path: "-") }
        wakeFD = fds[0]
        wakeWriteFD = fds[1]
        self.runner = runner
        for index in 0..<threads {
            let thread = Thread { [self] in self.workLoop() }
            thread.name = "n2spd-worker-\(index)"
            thread.start()
        }
    }

    func submit(_ work: Work) {
        condition.lock()
        queue.append(work)
        condition.signal()
        condition.unlock()
    }

    /// Jobs waiting for a thread plus jobs running.
    var load: (queued: Int, running: Int) {
        condition.lock(); defer { condition.unlock() }
        return (queue.count, running)
    }

    func runningOrQueued(inbox: String) -> (queued: Int, running: Int) {
        condition.lock(); defer { condition.unlock() }
        return (queue.filter { $0.job.inbox.name == inbox }.count, runningByInbox[inbox, default: 0])
    }
    private var runningByInbox: [String: Int] = [:]

    /// Wakes the main loop (used by the fine-tune thread when it finishes).
    func wake() {
        var byte: UInt8 = 2
        _ = write(wakeWriteFD, &byte, 1)
    }

    /// Takes the finished jobs (and empties the wake pipe).
    func takeCompletions() -> [Completion] {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(wakeFD, &buffer, buffer.count) > 0 {}
        condition.lock(); defer { condition.unlock() }
        let done = completions
        completions = []
        return done
    }

    /// Stops handing out queued jobs (they stay claimed on disk and are recovered at the next start);
    /// returns how many were dropped from the queue.
    func stopAccepting() -> Int {
        condition.lock(); defer { condition.unlock() }
        shuttingDown = true
        let dropped = queue.count
        queue = []
        condition.broadcast()
        return dropped
    }

    private func workLoop() {
        while true {
            condition.lock()
            while queue.isEmpty && !shuttingDown { condition.wait() }
            if shuttingDown { condition.unlock(); return }
            let work = queue.removeFirst()
            running += 1
            runningByInbox[work.job.inbox.name, default: 0] += 1
            condition.unlock()

            let start = Date()
            let outcome = runner.run(work.job, processor: work.processor)
            let completion = Completion(job: work.job, outcome: outcome, seconds: Date().timeIntervalSince(start))

            condition.lock()
            running -= 1
            runningByInbox[work.job.inbox.name, default: 1] -= 1
            completions.append(completion)
            condition.unlock()
            var byte: UInt8 = 1
            _ = write(wakeWriteFD, &byte, 1)
        }
    }
}
