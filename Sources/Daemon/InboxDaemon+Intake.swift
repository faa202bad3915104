import Foundation
import Glibc

/// A file seen in an inbox and not yet claimed.
struct PendingFile {
    var size: Int64
    var mtime: Int64
    var inode: UInt64
    /// Monotonic time of the last observed change (or of first sight).
    var lastChange: Double
    /// Created (IN_CREATE) but no IN_CLOSE_WRITE yet: a writer still has it open.
    var awaitingClose: Bool
}

extension InboxDaemon {
    /// A writer that keeps a file open longer than this without writing is assumed gone.
    static let abandonedWriterTimeout = 600.0

    static func prepare(_ inbox: InboxConfiguration) throws {
        for directory in [inbox.path, inbox.outbox, inbox.processingDirectory] { try FileOps.makeDirectory(directory) }
        if inbox.onSuccess == .move { try FileOps.makeDirectory(inbox.doneDirectory) }
        try FileOps.makeDirectory(inbox.failedDirectory)
    }

    func inbox(named name: String) -> InboxConfiguration? { configuration.inboxes.first { $0.name == name } }

    /// Names the daemon never takes: hidden files, partial uploads, and whatever the patterns exclude.
    static func accepts(_ name: String, patterns: [String]) -> Bool {
        if name.hasPrefix(".") { return false }
        let lower = name.lowercased()
        if lower.hasSuffix(".part") || lower.hasSuffix(".tmp") { return false }
        return patterns.contains { fnmatch($0, name, 0) == 0 }
    }

    func watchAll() throws {
        for inbox in configuration.inboxes where !watcher.isWatching(inbox.name) {
            try watcher.watch(inbox: inbox.name, path: inbox.path.path)
        }
    }

    /// Lists every inbox: new names join the pending table (they settle before being taken).
    func rescanAll() {
        lastRescan = Self.now()
        for inbox in configuration.inboxes {
            if !watcher.isWatching(inbox.name) {
                // The folder was gone (or never watched); try again, it may be back (remount).
                try? Self.prepare(inbox)
                try? watcher.watch(inbox: inbox.name, path: inbox.path.path)
            }
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: inbox.path.path) else {
                Journal.warning("cannot list inbox \(inbox.path.path)")
                continue
            }
            for name in names where Self.accepts(name, patterns: inbox.patterns) {
                notice(inbox: inbox.name, name: name, awaitingClose: false, immediate: false)
            }
        }
    }

    func handle(_ event: InboxWatcher.Event) {
        switch event {
        case .movedIn(let inbox, let name):
            notice(inbox: inbox, name: name, awaitingClose: false, immediate: true)
        case .closedAfterWrite(let inbox, let name):
            pending[inbox]?[name]?.awaitingClose = false
            notice(inbox: inbox, name: name, awaitingClose: false, immediate: false)
        case .modified(let inbox, let name):
            notice(inbox: inbox, name: name, awaitingClose: true, immediate: false)
        case .created(let inbox, let name, let isDirectory):
            notice(inbox: inbox, name: name, awaitingClose: !isDirectory, immediate: false)
        case .overflow:
            Journal.warning("inotify queue overflowed; rescanning every inbox")
            rescanAll()
        case .inboxGone(let name):
            Journal.error("inbox '\(name)' disappeared (deleted or unmounted); rescans will pick it up again if it returns")
            counters[name, default: InboxCounters()].lastError = "inbox folder disappeared"
            counters[name, default: InboxCounters()].lastErrorTime = Date()
        }
    }

    private func notice(inbox name: String, name file: String, awaitingClose: Bool, immediate: Bool) {
        guard let inbox = inbox(named: name), Self.accepts(file, patterns: inbox.patterns) else { return }
        if ready[name, default: []].contains(file) { return }
        let path = inbox.path.appendingPathComponent(file).path
        guard let info = FileOps.lstat(path) else { pending[name]?[file] = nil; return }
        if immediate && FileOps.isRegularFile(info) {
            // A rename is atomic: the file is complete the moment it appears.
            pending[name]?[file] = nil
            ready[name, default: []].append(file)
            return
        }
        let entry = PendingFile(size: Int64(info.st_size), mtime: FileOps.mtimeNanoseconds(info), inode: UInt64(info.st_ino),
                                lastChange: Self.now(), awaitingClose: awaitingClose && FileOps.isRegularFile(info))
        if var existing = pending[name]?[file] {
            if existing.size != entry.size || existing.mtime != entry.mtime || existing.inode != entry.inode {
                existing = PendingFile(size: entry.size, mtime: entry.mtime, inode: entry.inode, lastChange: entry.lastChange,
                                       awaitingClose: existing.awaitingClose)
            }
            if awaitingClose { existing.awaitingClose = true }
            pending[name]?[file] = existing
        } else {
            pending[name, default: [:]][file] = entry
        }
    }

    /// Moves pending files that kept size and mtime for the settle time to the ready list.
    func settlePending(now: Double) {
        for (inboxName, files) in pending {
            guard let inbox = inbox(named: inboxName) else { pending[inboxName] = nil; continue }
            for (file, var entry) in files {
                guard let info = FileOps.lstat(inbox.path.appendingPathComponent(file).path) else {
                    pending[inboxName]?[file] = nil
                    continue
                }
                let size = Int64(info.st_size), mtime = FileOps.mtimeNanoseconds(info), inode = UInt64(info.st_ino)
                if size != entry.size || mtime != entry.mtime || inode != entry.inode {
                    entry.size = size
                    entry.mtime = mtime
                    entry.inode = inode
                    entry.lastChange = now
                    pending[inboxName]?[file] = entry
                    continue
                }
                let quiet = now - entry.lastChange
                guard quiet >= configuration.settleTime, !entry.awaitingClose || quiet >= Self.abandonedWriterTimeout else { continue }
                pending[inboxName]?[file] = nil
                if !ready[inboxName, default: []].contains(file) { ready[inboxName, default: []].append(file) }
            }
        }
    }

    /// Claims ready files while workers have room (a few ahead, so files not yet claimed stay visible in
    /// the inbox), and resubmits retries that are due.
    func dispatch(now: Double) {
        guard phase == .ready || phase == .reloading else { return }
        var due: [Job] = []
        retries.removeAll { item in
            if item.due <= now { due.append(item.job); return true }
            return false
        }
        for job in due { submit(job) }
        let room = max(configuration.workerThreads * 2, 2)
        var progressed = true
        while progressed && workers.load.queued < room {
            progressed = false
            for inbox in configuration.inboxes where workers.load.queued < room {
                guard var names = ready[inbox.name], !names.isEmpty else { continue }
                let name = names.removeFirst()
                ready[inbox.name] = names
                progressed = true
                if let job = claim(name, in: inbox) { submit(job) }
            }
        }
    }

    /// `rename(2)` into the processing area: from here on the file is ours and cannot be half-taken.
    private func claim(_ name: String, in inbox: InboxConfiguration) -> Job? {
        let job = Job(id: ids.next(), originalName: name, inbox: inbox)
        let source = inbox.path.appendingPathComponent(name).path
        if rename(source, job.claimedPath) != 0 {
            var code = errno
            // The processing area itself may have been removed by hand: recreate it and try once more.
            if code == ENOENT, FileOps.lstat(source) != nil, (try? Self.prepare(inbox)) != nil {
                code = rename(source, job.claimedPath) == 0 ? 0 : errno
            }
            if code != 0 {
                if code != ENOENT { Journal.warning("cannot claim \(source): \(String(cString: strerror(code)))") }
                return nil
            }
        }
        do { try FileOps.syncDirectory(inbox.processingDirectory.path) } catch { Journal.warning("\(error)") }
        Journal.debug("claimed \(source) as job \(job.id)")
        statusDirty = true
        return job
    }

    func submit(_ job: Job) {
        let chosen: any ImageProcessor = job.inbox.model.flatMap { overrideProcessors[$0.path] } ?? processor
        workers.submit(.init(job: job, processor: chosen))
        statusDirty = true
    }

    func handle(_ completion: WorkerPool.Completion) {
        let job = completion.job
        let name = job.inbox.name
        statusDirty = true
        switch completion.outcome {
        case .delivered(let output, let model):
            counters[name, default: InboxCounters()].processed += 1
            if job.inbox.feedsTrainingPool && job.inbox.model == nil { fineTune.imagesSinceLast += 1 }
            Journal.info("\(job.inbox.name): \(job.originalName) → \(output) (model \(model), \(String(format: "%.2f", completion.seconds)) s)")
        case .alreadyDelivered(let output):
            counters[name, default: InboxCounters()].processed += 1
            Journal.info("\(job.inbox.name): \(job.originalName) was already delivered as \(output); not processed again")
        case .failed(let reason):
            counters[name, default: InboxCounters()].failed += 1
            counters[name, default: InboxCounters()].lastError = "\(job.originalName): \(reason)"
            counters[name, default: InboxCounters()].lastErrorTime = Date()
            Journal.warning("\(job.inbox.name): \(job.originalName) failed: \(reason) → \(job.inbox.failedDirectory.path)")
        case .retry(let reason):
            var again = job
            again.attempt += 1
            let delay = min(configuration.retryBackoff * pow(2, Double(job.attempt)), 300)
            counters[name, default: InboxCounters()].lastError = "\(job.originalName): \(reason)"
            counters[name, default: InboxCounters()].lastErrorTime = Date()
            Journal.warning("\(job.inbox.name): \(job.originalName): \(reason); retry \(again.attempt) in \(String(format: "%.1f", delay)) s")
            retries.append((Self.now() + delay, again))
        }
    }

    /// Finishes every claim left in a processing area by a previous run (crash, kill -9, stop timeout):
    /// delivered ones only move on, half-delivered ones complete their delivery, the rest are processed.
    func recoverClaims() {
        for inbox in configuration.inboxes {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: inbox.processingDirectory.path)) ?? []
            for claimed in names.sorted() {
                var job: Job
                if let parsed = Job.parse(claimedName: claimed) {
                    job = Job(id: parsed.id, originalName: parsed.originalName, inbox: inbox)
                } else {
                    // Not a name we make: give it a job id so it is handled like any claim.
                    job = Job(id: ids.next(), originalName: claimed, inbox: inbox)
                    guard rename(inbox.processingDirectory.appendingPathComponent(claimed).path, job.claimedPath) == 0 else { continue }
                }
                if let outcome = runner.recover(job) {
                    Journal.notice("recovered \(inbox.name)/\(job.originalName) (job \(job.id)) from the processing area")
                    handle(WorkerPool.Completion(job: job, outcome: outcome, seconds: 0))
                } else {
                    Journal.notice("re-queued \(inbox.name)/\(job.originalName) (job \(job.id)) left in the processing area")
                    submit(job)
                }
            }
        }
    }

    /// Temp outputs of jobs that no longer exist (their claim was finished or failed) are garbage.
    func removeStaleTemporaryOutputs() {
        for inbox in configuration.inboxes {
            let claimed = Set(((try? FileManager.default.contentsOfDirectory(atPath: inbox.processingDirectory.path)) ?? [])
                .compactMap { Job.parse(claimedName: $0)?.id })
            let names = (try? FileManager.default.contentsOfDirectory(atPath: inbox.outbox.path)) ?? []
            for name in names where name.hasPrefix(".n2spd-j") && name.hasSuffix(".tmp") {
                let id = String(name.dropFirst(".n2spd-".count).dropLast(".tmp".count))
                if !claimed.contains(id) { unlink(inbox.outbox.appendingPathComponent(name).path) }
            }
        }
    }

    // MARK: - Status

    func currentStatus() -> DaemonStatus {
        let inboxes = configuration.inboxes.map { inbox -> DaemonStatus.Inbox in
            let load = workers.runningOrQueued(inbox: inbox.name)
            let waiting = (pending[inbox.name]?.count ?? 0) + (ready[inbox.name]?.count ?? 0)
                + retries.filter { $0.job.inbox.name == inbox.name }.count + load.queued
            let counter = counters[inbox.name] ?? InboxCounters()
            let model = inbox.model.flatMap { overrideProcessors[$0.path]?.model.version } ?? processor.model.version
            return DaemonStatus.Inbox(name: inbox.name, path: inbox.path.path, outbox: inbox.outbox.path, queued: waiting,
                                      inFlight: load.running, processed: counter.processed, failed: counter.failed,
                                      lastError: counter.lastError, lastErrorTime: counter.lastErrorTime, model: model)
        }
        return DaemonStatus(pid: getpid(), daemonVersion: DaemonVersion.string, phase: phase, startedAt: startedAt, updatedAt: Date(),
                            model: processor.model, inboxes: inboxes, fineTune: fineTuneStatus())
    }

    /// Writes status.json (at most twice a second unless forced) and sends `STATUS=` when the line changed.
    func writeStatus(force: Bool) {
        let now = Self.now()
        guard force || (statusDirty && now - lastStatusWrite >= 0.5) || now - lastStatusWrite >= 10 else { return }
        let status = currentStatus()
        do { try status.write(stateDirectory: configuration.stateDirectory) } catch {
            Journal.warning("cannot write the status file: \(error)")
        }
        lastStatusWrite = now
        statusDirty = false
        if status.summary != lastStatusLine {
            lastStatusLine = status.summary
            notifier.send("STATUS=\(lastStatusLine)")
        }
    }
}
