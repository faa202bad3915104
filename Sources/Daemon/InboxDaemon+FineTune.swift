import CDaemonSys
import Foundation
import Glibc
import Synchronization

/// What the scheduler remembers between fine-tunes (persisted in `<state>/finetune.json` so that the
/// "every N images / T hours" policy survives restarts).
struct FineTuneState {
    struct Persisted: Codable {
        var imagesSinceLast: Int
        var lastRun: Date?
        var lastResult: FineTuneOutcome?
    }

    var imagesSinceLast = 0
    var lastRun: Date?
    var lastResult: FineTuneOutcome?
    /// The job in progress.
    var running: Running?
    /// Set on SIGTERM; the fine-tune thread polls it through `shouldStop`.
    let stopRequested = StopFlag()

    final class Running: Sendable {
        let request: FineTuneRequest
        let step = Atomic<Int>(0)
        let result = Mutex<Result<FineTuneMeasurement, any Error>?>(nil)
        init(request: FineTuneRequest) { self.request = request }
    }

    static func url(_ state: URL) -> URL { state.appendingPathComponent("finetune.json") }

    static func load(stateDirectory: URL) -> FineTuneState {
        var state = FineTuneState()
        if let data = try? Data(contentsOf: url(stateDirectory)), let saved = try? Ledger.decoder.decode(Persisted.self, from: data) {
            state.imagesSinceLast = saved.imagesSinceLast
            state.lastRun = saved.lastRun
            state.lastResult = saved.lastResult
        }
        return state
    }

    func save(stateDirectory: URL) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(Persisted(imagesSinceLast: imagesSinceLast, lastRun: lastRun, lastResult: lastResult)) else { return }
        try? FileOps.replaceAtomically(Self.url(stateDirectory).path, data)
    }
}

extension InboxDaemon {
    func fineTuneStatus() -> DaemonStatus.FineTune {
        let state: String
        if !configuration.fineTune.enabled { state = "disabled" }
        else if fineTuner == nil { state = "unavailable" }
        else if fineTune.running != nil { state = "running" }
        else { state = "idle" }
        return .init(state: state, imagesSinceLast: fineTune.imagesSinceLast, poolSize: pool.count,
                     step: fineTune.running?.step.load(ordering: .relaxed),
                     stepBudget: fineTune.running?.request.stepBudget, lastResult: fineTune.lastResult)
    }

    /// Whether the policy asks for a fine-tune now (pure decision, unit-tested).
    static func fineTuneDue(policy: FineTunePolicy, imagesSinceLast: Int, lastRun: Date?, now: Date) -> Bool {
        guard policy.enabled, imagesSinceLast > 0 else { return false }
        if policy.everyImages > 0 && imagesSinceLast >= policy.everyImages { return true }
        if policy.everyHours > 0 {
            guard let lastRun else { return imagesSinceLast >= max(policy.everyImages / 2, 1) || policy.everyImages == 0 }
            return now.timeIntervalSince(lastRun) >= policy.everyHours * 3600
        }
        return false
    }

    /// Starts a fine-tune when the policy says so and nothing waits to be denoised.
    func scheduleFineTune(now: Double) {
        guard let tuner = fineTuner, fineTune.running == nil, phase == .ready else { return }
        let policy = configuration.fineTune
        guard Self.fineTuneDue(policy: policy, imagesSinceLast: fineTune.imagesSinceLast, lastRun: fineTune.lastRun, now: Date()) else { return }
        let load = workers.load
        guard load.queued == 0, load.running == 0, retries.isEmpty,
              pending.values.allSatisfy(\.isEmpty), ready.values.allSatisfy(\.isEmpty) else { return }
        let entries = pool.entries()
        let training = entries.filter { !$0.heldOut }.map(\.url), heldOut = entries.filter(\.heldOut).map(\.url)
        guard training.count >= 1, heldOut.count >= 1 else {
            Journal.debug("fine-tune due but the pool has \(training.count) training / \(heldOut.count) held-out images; waiting")
            return
        }
        let candidate = registry.directory.appendingPathComponent(".candidate-\(getpid())-\(Int(Date().timeIntervalSince1970)).safetensors")
        let request = FineTuneRequest(
            baseModel: registry.modelPath(of: processor.model.version, base: configuration.model), baseVersion: processor.model.version,
            trainingFiles: training, heldOutFiles: heldOut, stepBudget: policy.stepBudget, candidateOutput: candidate)
        let running = FineTuneState.Running(request: request)
        fineTune.running = running
        let stopFlag = fineTune.stopRequested
        let workers = self.workers
        Journal.notice("fine-tune: \(policy.stepBudget) steps from \(request.baseVersion) on \(training.count) images, \(heldOut.count) held out")
        let thread = Thread {
            // Idle CPU and I/O priority for this thread: denoising always wins.
            if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19) != 0 { Journal.debug("setpriority failed") }
            if n2spd_set_thread_io_idle() != 0 { Journal.debug("ioprio_set failed") }
            let result = Result {
                try tuner.fineTune(request, progress: { running.step.store($0, ordering: .relaxed) },
                                   shouldStop: { stopFlag.isSet })
            }
            running.result.withLock { $0 = result }
            workers.wake()
        }
        thread.name = "n2spd-finetune"
        thread.start()
        statusDirty = true
    }

    /// Applies the promotion gate to a finished fine-tune.
    func handleFineTuneCompletion() {
        guard let running = fineTune.running, let result = running.result.withLock({ $0 }) else { return }
        fineTune.running = nil
        fineTune.lastRun = Date()
        fineTune.imagesSinceLast = 0
        let request = running.request
        let outcome: FineTuneOutcome
        switch result {
        case .failure(let error):
            unlink(request.candidateOutput.path)
            outcome = FineTuneOutcome(time: Date(), promoted: false, version: nil, baseVersion: request.baseVersion, steps: 0,
                                      baselineLoss: nil, candidateLoss: nil, message: "fine-tune failed: \(error)")
            Journal.error(outcome.message)
        case .success(let measurement):
            outcome = applyGate(measurement, request: request)
        }
        fineTune.lastResult = outcome
        fineTune.save(stateDirectory: configuration.stateDirectory)
        statusDirty = true
    }

    private func applyGate(_ measurement: FineTuneMeasurement, request: FineTuneRequest) -> FineTuneOutcome {
        let losses = String(format: "held-out loss %.6g (candidate) vs %.6g (current %@)", measurement.candidateLoss,
                            measurement.baselineLoss, request.baseVersion)
        func rejected(_ why: String) -> FineTuneOutcome {
            unlink(request.candidateOutput.path)
            Journal.notice("fine-tune rejected: \(why)")
            return FineTuneOutcome(time: Date(), promoted: false, version: nil, baseVersion: request.baseVersion, steps: measurement.steps,
                                   baselineLoss: measurement.baselineLoss, candidateLoss: measurement.candidateLoss, message: why)
        }
        guard measurement.candidateLoss.isFinite, measurement.baselineLoss.isFinite else { return rejected("non-finite loss; \(losses)") }
        guard measurement.candidateLoss < measurement.baselineLoss else { return rejected("not better: \(losses)") }
        guard FileOps.lstat(request.candidateOutput.path).map(FileOps.isRegularFile) == true else {
            return rejected("the fine-tuner wrote no candidate at \(request.candidateOutput.path)")
        }
        do {
            let version = try registry.promote(candidate: request.candidateOutput, parent: request.baseVersion,
                                               measurement: measurement, keep: configuration.fineTune.keepModels)
            swapModel(to: version)
            Journal.notice("fine-tune promoted \(version): \(losses)")
            return FineTuneOutcome(time: Date(), promoted: true, version: version, baseVersion: request.baseVersion, steps: measurement.steps,
                                   baselineLoss: measurement.baselineLoss, candidateLoss: measurement.candidateLoss, message: "promoted: \(losses)")
        } catch {
            return rejected("could not register the candidate: \(error)")
        }
    }
}

/// The daemon's stop request as seen by the fine-tune thread.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
