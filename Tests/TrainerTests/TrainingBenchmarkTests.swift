import CheckpointImport
import Foundation
import TestSupport
import Trainer
import XCTest

/// Benchmark, not a test: step time of the paper model (96 filters) on 64×64 patches. Runs only with
/// `N2SPD_BENCH=1` (it takes tens of seconds and both cores). Reference point: TF 2.15 CPU runs the reference
/// graph at 1.09 s/step at batch 4 on this machine.
final class TrainingBenchmarkTests: XCTestCase {
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    func testPaperModelStepTime() throws {
        guard ProcessInfo.processInfo.environment["N2SPD_BENCH"] == "1" else {
            throw XCTSkip("set N2SPD_BENCH=1 to run the training benchmark")
        }
        let weights = try ModelInitializer.glorotUniform(.paper, seed: 1)
        let files = try TrainingImageSource.files(in: Fixtures.data("bsd68-noisy25"))
        let batchSizes = (ProcessInfo.processInfo.environment["N2SPD_BENCH_BATCHES"] ?? "4,16").split(separator: ",").compactMap { Int($0) }
        for batchSize in batchSizes {
            let trainer = try Trainer(weights: weights, config: TrainingConfig())
            let sampler = PatchSampler(files: files, patchSize: 64, channels: 1, seed: 1)
            let batches = try (0..<3).map { _ in try sampler.nextBatch(size: batchSize, noiseSigma: 0.2) }
            try trainer.step(batch: batches[0])  // warm-up (allocations, BLAS threads)
            let start = Date(), cpuStart = Self.cpuSeconds()
            for batch in batches.dropFirst() { try trainer.step(batch: batch) }
            let perStep = Date().timeIntervalSince(start) / Double(batches.count - 1)
            let cpuPerStep = (Self.cpuSeconds() - cpuStart) / Double(batches.count - 1)
            // On a shared machine wall time is inflated; CPU time / cores bounds what an idle box would take.
            print(String(format: "benchmark: paper model, batch %d × 64×64: %.3f s/step wall, %.3f CPU-s/step (load avg %@)",
                         batchSize, perStep, cpuPerStep, (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
                            .split(separator: " ").first.map(String.init) ?? "?"))
        }
    }
}
