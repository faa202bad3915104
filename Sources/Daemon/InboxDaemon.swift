import CDaemonSys
import Foundation
import Glibc
import Synchronization

/// The n2spd service: watches the inboxes, hands claimed files to the workers, reports to systemd, keeps
/// the status file, swaps models and schedules fine-tuning. All of its state is owned by the thread that
/// calls `run()` (the main loop); workers and the fine-tune thread talk to it through queues.
public final class InboxDaemon {
    var configuration: DaemonConfiguration
    let factory: any ImageProcessorFactory
    let fineTuner: (any FineTuner)?
    let notifier: SystemdNotifier
    let ledger: Ledger
    let registry: ModelRegistry
    let pool: TrainingPool
    let runner: JobRunner
    let workers: WorkerPool
    let watcher: InboxWatcher
    let signals: SignalPipe
    let ids = JobIDGenerator()

    /// The processor for the default model (hot-swapped); jobs capture the one current at dispatch.
    var processor: any ImageProcessor
    /// Processors for inboxes with their own `model`, by model path.
    var overrideProcessors: [String: any ImageProcessor] = [:]

    var pending: [String: [String: PendingFile]] = [:]
    var ready: [String: [String]] = [:]
    var retries: [(due: Double, job: Job)] = []
    var counters: [String: InboxCounters] = [:]
    var phase: DaemonStatus.Phase = .starting
    let startedAt = Date()
    var lastRescan = 0.0
    var lastWatchdog = 0.0
    var lastStatusWrite = 0.0
    var lastStatusLine = ""
    var statusDirty = true
    var fineTune: FineTuneState

    struct InboxCounters {
        var processed = 0
        var failed = 0
        var lastError: String?
        var lastErrorTime: Date?
    }

    /// Sets everything up that can fail before the service is ready: state folders, ledger, model, inboxes.
    public init(
        configuration: DaemonConfiguration, factory: any ImageProcessorFactory, fineTuner: (any FineTuner)?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        self.configuration = configuration
        self.factory = factory
        self.fineTuner = fineTuner
        Journal.setLevel(configuration.logLevel)
        notifier = SystemdNotifier(environment: environment)
        signals = try SignalPipe(signals: [SIGTERM, SIGINT, SIGHUP])
        try FileOps.makeDirectory(configuration.stateDirectory)
        ledger = try Ledger(url: configuration.stateDirectory.appendingPathComponent("ledger.jsonl"))
        registry = try ModelRegistry(directory: configuration.stateDirectory.appendingPathComponent("models"))
        pool = try TrainingPool(directory: configuration.stateDirectory.appendingPathComponent("pool"), policy: configuration.fineTune)
        fineTune = FineTuneState.load(stateDirectory: configuration.stateDirectory)
        runner = JobRunner(ledger: ledger, configuration: configuration, pool: pool)

        // Loading a large model can take longer than the default start timeout.
        notifier.send("EXTEND_TIMEOUT_USEC=\(180_000_000)", "STATUS=loading model")
        processor = try Self.loadDefaultProcessor(factory: factory, registry: registry, base: configuration.model)
        Journal.notice("model \(processor.model) from \(processor.model.path)")
        for inbox in configuration.inboxes { try Self.prepare(inbox) }
        overrideProcessors = try Self.loadOverrideProcessors(configuration, factory: factory, reuse: [:])
        watcher = try InboxWatcher()
        workers = try WorkerPool(threads: configuration.workerThreads, runner: runner)
    }

    /// Asks `run()` to stop as on SIGTERM (thread-safe: only writes to the signal pipe).
    public func requestStop() { signals.inject(SIGTERM) }

    /// Asks `run()` to reload as on SIGHUP.
    public func requestReload() { signals.inject(SIGHUP) }

    /// Runs until SIGTERM/SIGINT; returns the exit status.
    public func run() -> Int32 {
        recoverClaims()
        removeStaleTemporaryOutputs()
        do { try watchAll() } catch {
            Journal.error("\(error)")
            return 1
        }
        rescanAll()
        phase = .ready
        writeStatus(force: true)
        notifier.send("READY=1", "STATUS=\(lastStatusLine)", "MAINPID=\(getpid())")
        Journal.notice("ready: \(configuration.inboxes.count) inbox\(configuration.inboxes.count == 1 ? "" : "es"), "
            + "\(configuration.workerThreads) worker\(configuration.workerThreads == 1 ? "" : "s"), model \(processor.model)")

        while true {
            waitForEvents()
            for signal in signals.take() {
                switch signal {
                case SIGHUP: reload()
                default: return stop()
                }
            }
            for event in watcher.drain() { handle(event) }
            for completion in workers.takeCompletions() { handle(completion) }
            let now = Self.now()
            if now - lastRescan >= configuration.rescanInterval {
                rescanAll()
                checkModelPointer()
            }
            settlePending(now: now)
            dispatch(now: now)
            scheduleFineTune(now: now)
            handleFineTuneCompletion()
            pingWatchdog(now: now)
            writeStatus(force: false)
        }
    }

    /// Sleeps in poll(2) until inotify, a worker, a signal or the next timer (settling, retry, watchdog).
    private func waitForEvents() {
        var fds = [
            pollfd(fd: watcher.fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: workers.wakeFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: signals.readFD, events: Int16(POLLIN), revents: 0),
        ]
        var timeout = 1.0
        if pending.values.contains(where: { !$0.isEmpty }) { timeout = min(timeout, max(0.05, min(configuration.settleTime / 4, 0.25))) }
        if let interval = notifier.watchdogInterval { timeout = min(timeout, interval / 4) }
        if let next = retries.map(\.due).min() { timeout = min(timeout, max(0.01, next - Self.now())) }
        if fineTune.running != nil { timeout = min(timeout, 0.5) }
        _ = poll(&fds, nfds_t(fds.count), Int32(timeout * 1000))
    }

    // MARK: - Lifecycle

    private func reload() {
        notifier.send("RELOADING=1", "MONOTONIC_USEC=\(SystemdNotifier.monotonicMicroseconds())", "STATUS=reloading")
        phase = .reloading
        writeStatus(force: true)
        Journal.notice("reloading (SIGHUP)")
        if let file = configuration.sourceFile {
            do {
                let fresh = try ConfigurationLoader.load(file: file)
                if fresh.workerThreads != configuration.workerThreads {
                    Journal.warning("worker_threads changes take effect at the next restart")
                }
                var applied = fresh.relocatingState(to: configuration.stateDirectory)
                applied.workerThreads = configuration.workerThreads
                for inbox in applied.inboxes { try Self.prepare(inbox) }
                configuration = applied
                Journal.setLevel(applied.logLevel)
                pool.update(policy: applied.fineTune)
            } catch {
                Journal.error("reload: keeping the previous configuration: \(error)")
            }
        }
        do {
            processor = try Self.loadDefaultProcessor(factory: factory, registry: registry, base: configuration.model)
            overrideProcessors = try Self.loadOverrideProcessors(configuration, factory: factory, reuse: [:])
            Journal.notice("model \(processor.model)")
        } catch {
            Journal.error("reload: keeping the previous model: \(error)")
        }
        watcher.unwatchAll()
        do { try watchAll() } catch { Journal.error("reload: \(error)") }
        let names = Set(configuration.inboxes.map(\.name))
        pending = pending.filter { names.contains($0.key) }
        ready = ready.filter { names.contains($0.key) }
        rescanAll()
        phase = .ready
        writeStatus(force: true)
        notifier.send("READY=1", "STATUS=\(lastStatusLine)")
    }

    /// SIGTERM: stop taking files, let running images finish within `stop_timeout`, leave the rest claimed
    /// (the next start recovers them), exit 0.
    private func stop() -> Int32 {
        notifier.send("STOPPING=1", "STATUS=stopping")
        phase = .stopping
        fineTune.stopRequested.set()
        let dropped = workers.stopAccepting()
        Journal.notice("stopping: \(workers.load.running) image(s) in flight, \(dropped) claimed image(s) left for the next start")
        let deadline = Self.now() + configuration.stopTimeout
        while workers.load.running > 0 && Self.now() < deadline {
            var fds = [pollfd(fd: workers.wakeFD, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, 100)
            for completion in workers.takeCompletions() { handle(completion) }
            pingWatchdog(now: Self.now())
        }
        for completion in workers.takeCompletions() { handle(completion) }
        let unfinished = workers.load.running
        phase = .stopped
        writeStatus(force: true)
        if unfinished > 0 {
            Journal.warning("stop timeout: \(unfinished) image(s) still running are left claimed and will be redone at the next start")
            // Worker threads are mid-call: skip atexit handlers that could tear down state under them.
            fflush(nil)
            _exit(0)
        }
        Journal.notice("stopped")
        return 0
    }

    private func pingWatchdog(now: Double) {
        guard let interval = notifier.watchdogInterval, now - lastWatchdog >= interval / 2 else { return }
        notifier.send("WATCHDOG=1")
        lastWatchdog = now
    }

    // MARK: - Models

    static func loadDefaultProcessor(factory: any ImageProcessorFactory, registry: ModelRegistry, base: URL?) throws -> any ImageProcessor {
        let version = registry.currentVersion()
        do {
            return try factory.makeProcessor(modelPath: registry.modelPath(of: version, base: base), version: version)
        } catch where version != ModelRegistry.baseVersion {
            Journal.error("model \(version) does not load (\(error)); falling back to the configured base model")
            return try factory.makeProcessor(modelPath: base, version: ModelRegistry.baseVersion)
        }
    }

    static func loadOverrideProcessors(
        _ configuration: DaemonConfiguration, factory: any ImageProcessorFactory, reuse: [String: any ImageProcessor]
    ) throws -> [String: any ImageProcessor] {
        var result: [String: any ImageProcessor] = [:]
        for inbox in configuration.inboxes {
            guard let model = inbox.model, result[model.path] == nil else { continue }
            result[model.path] = try reuse[model.path] ?? factory.makeProcessor(modelPath: model, version: "inbox-\(inbox.name)")
        }
        return result
    }

    /// `n2sp models rollback` only moves the pointer; the daemon notices at its next rescan (or SIGHUP).
    func checkModelPointer() {
        let version = registry.currentVersion()
        guard version != processor.model.version else { return }
        swapModel(to: version)
    }

    func swapModel(to version: String) {
        do {
            let fresh = try factory.makeProcessor(modelPath: registry.modelPath(of: version, base: configuration.model), version: version)
            Journal.notice("model \(processor.model) → \(fresh.model) (images in flight finish on the old one)")
            processor = fresh
            statusDirty = true
        } catch {
            Journal.error("cannot switch to model \(version): \(error); staying on \(processor.model)")
        }
    }

    static func now() -> Double { Double(SystemdNotifier.monotonicMicroseconds()) / 1e6 }
}
