import ArgumentParser
import CheckpointImport
import Denoiser
import Dispatch
import Foundation
import Trainer

/// `n2sp bench`: times the inference network (batch 1, network only, no file I/O) on random input.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the denoising network and report ms/megapixel and effective GFLOP/s.",
        discussion: """
            Runs the network on an N×N random normalised image (batch 1, inference mode) after one warm-up \
            pass and reports the median of --repeat timed passes. FLOPs = 2 × multiply-accumulates of all \
            convolutions, counted from the layer list (the same count for every algorithm, so GFLOP/s is \
            "effective": a Winograd path can exceed the machine's GEMM rate). Without --model the paper \
            architecture (depth 3, 96 filters, 1 channel) with Glorot-initialised weights is used.
            Set OPENBLAS_CORETYPE=Haswell in the environment (it must be set before the process starts).

            Examples:
              n2sp bench --size 256
              n2sp bench --model bsd68.safetensors --size 512 --repeat 5 --json
              n2sp bench --train --batch 4 --patch 64 --repeat 3

            --train times Trainer.step (both passes of the Noise2Same loss: masked and unmasked forward, their
            backward passes, Adam) on a random batch of B P×P patches with a 0.5 % stratified mask. Its FLOPs are             the standard estimate 3 × forward (forward + input gradient + weight gradient) × 2 passes.
            """)

    @Option(help: "Model file (safetensors) or TF checkpoint; default: random paper-size weights.")
    var model: String?

    @Option(help: "Image side N (rounded up to a multiple of 2^depth).")
    var size: Int = 256

    @Option(help: "Timed repetitions (median reported).")
    var `repeat`: Int = 3

    @Option(help: "Threads (OpenBLAS and element-wise passes).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Threading: workers (chunks over cores, single-threaded BLAS) or blas (threaded GEMMs).")
    var threading: String = ThreadingMode.workers.rawValue

    @Flag(help: "Time the whole predict path (normalisation, reflect padding, tiling under the memory budget, de-normalisation) on a random N×N image instead of the bare network.")
    var predict = false

    @Option(help: "With --predict: stop after this many tiles (a partial run that still shows the peak memory of a huge image).")
    var maxTiles: Int?

    @Option(help: "im2col scratch per GEMM chunk, KiB (all workers together).")
    var im2colChunkKib: Int = 16 << 10

    @Option(help: "Memory budget for the engine's tiles, MiB.")
    var budgetMib: Int = 1024

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "3×3 convolution algorithm: \(ConvolutionAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")).")
    var algorithm: String = ConvolutionAlgorithm.automatic.rawValue

    @Option(help: "Write the benchmarked weights as a safetensors model (e.g. the random ones, for export-checkpoint and the TF baseline).")
    var writeModel: String?

    @Option(help: "Inference: write the random network input (raw little-endian float32, NHWC, batch 1) here.")
    var writeInput: String?

    @Option(help: "Inference: write the network output of the last timed run (raw float32) here, to compare with TF.")
    var writeOutput: String?

    @Flag(help: "Time a training step (Trainer.step) instead of inference.")
    var train = false

    @Option(help: "With --train: patches per batch.")
    var batch: Int = 4

    @Option(help: "With --train: patch side.")
    var patch: Int = 64

    struct Result: Codable {
        var model: String
        var architecture: String
        var size: Int
        var repeats: Int
        var threads: Int
        var threading: String
        var openblas_coretype: String
        var seconds: [Double]
        var median_seconds: Double
        var ms_per_megapixel: Double
        var flops: Double
        var gflops: Double
        var workspace_bytes: Int
        var peak_rss_bytes: Int
        var tiles: Int?
        var tiles_run: Int?
        var algorithm: String?
        var mode: String?
        var batch: Int?
        var patch: Int?
        var loadavg_before: String?
        var loadavg_after: String?
        /// Process CPU time (user + system) per timed run: on a shared machine wall time is inflated by
        /// other jobs, CPU time much less (it still includes cache contention).
        var cpu_seconds_per_run: Double?
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?")
            .split(separator: " ").prefix(3).joined(separator: " ")
    }

    static func median(_ times: [Double]) -> Double {
        let sorted = times.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Peak resident set size of this process so far (Linux reports ru_maxrss in KiB).
    static func peakRSS() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    func run() throws {
        guard size > 0, `repeat` > 0 else { throw ValidationError("--size and --repeat must be positive") }
        let weights = try model.map { try ModelWeights.load(from: $0) } ?? .glorotInitialized(.paper)
        guard let mode = ThreadingMode(rawValue: threading) else {
            throw ValidationError("--threading must be one of \(ThreadingMode.allCases.map(\.rawValue))")
        }
        guard let algo = ConvolutionAlgorithm(rawValue: algorithm) else {
            throw ValidationError("--algorithm must be one of \(ConvolutionAlgorithm.allCases.map(\.rawValue))")
        }
        if let writeModel { try weights.save(to: writeModel) }
        if train { return try runTrain(weights) }
        let engine = try InferenceEngine(
            weights: weights,
            options: EngineOptions(memoryBudget: budgetMib << 20, threads: threads, im2colChunkBytes: im2colChunkKib << 10,
                                   convolutionAlgorithm: algo, threading: mode))
        if predict { return try runPredict(engine) }
        let m = engine.architecture.paddingMultiple
        let side = (size + m - 1) / m * m
        let shape = TensorShape(height: side, width: side, channels: engine.architecture.inputChannels)
        var state: UInt64 = 42
        let values: [Float] = (0..<shape.count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001) / 1_000_000 - 1
        }
        let input = Tensor(shape: shape, values: values)
        _ = try engine.forward(input)  // warm-up: plans the workspace, faults pages in
        var times: [Double] = []
        let loadBefore = Self.loadAverage()
        let cpu0 = Self.cpuSeconds()
        var output = input
        for _ in 0..<`repeat` {
            let t0 = DispatchTime.now().uptimeNanoseconds
            output = try engine.forward(input)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        func dump(_ t: Tensor, _ path: String) throws {
            try t.values.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path))
        }
        if let writeInput { try dump(input, writeInput) }
        if let writeOutput { try dump(output, writeOutput) }
        let sorted = times.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let flops = 2 * Double(engine.multiplyAccumulates(for: shape))
        let result = Result(
            model: model ?? "random paper-size weights", architecture: engine.architecture.description, size: side,
            repeats: `repeat`, threads: threads, threading: threading,
            openblas_coretype: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(auto)",
            seconds: times, median_seconds: median, ms_per_megapixel: median * 1000 / (Double(side * side) / 1e6),
            flops: flops, gflops: flops / median / 1e9, workspace_bytes: engine.workspaceBytes(for: shape),
            peak_rss_bytes: Self.peakRSS(), algorithm: algorithm, mode: "inference",
            loadavg_before: loadBefore, loadavg_after: Self.loadAverage(),
            cpu_seconds_per_run: (Self.cpuSeconds() - cpu0) / Double(`repeat`))
        report(result)
    }

    /// `--train`: median wall time of `Trainer.step` on random batches (the trainer's 3×3 convolutions and
    /// input gradients take the default algorithm, `.automatic`).
    func runTrain(_ weights: ModelWeights) throws {
        guard batch > 0, patch > 0 else { throw ValidationError("--batch and --patch must be positive") }
        let arch = weights.architecture
        let m = arch.paddingMultiple
        let side = (patch + m - 1) / m * m
        let trainer = try Trainer(weights: weights, config: TrainingConfig())
        let count = batch * side * side * arch.inputChannels
        var state: UInt64 = 42
        func uniform() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24)
        }
        // one masked pixel per 14×14 box (0.5 %), at a random place in the box
        func makeBatch() -> TrainingBatch {
            let features = (0..<count).map { _ in uniform() * 2 - 1 }
            var mask = [Float](repeating: 0, count: count)
            let box = StratifiedMask.boxSize(maskPercent: 0.5)
            for n in 0..<batch {
                for by in stride(from: 0, to: side, by: box) {
                    for bx in stride(from: 0, to: side, by: box) {
                        let y = min(by + Int(uniform() * Float(box)), side - 1)
                        let x = min(bx + Int(uniform() * Float(box)), side - 1)
                        for c in 0..<arch.inputChannels { mask[((n * side + y) * side + x) * arch.inputChannels + c] = 1 }
                    }
                }
            }
            let noise = (0..<count).map { _ in (uniform() * 2 - 1) * 0.2 }
            return TrainingBatch(batch: batch, height: side, width: side, channels: arch.inputChannels,
                                 features: features, mask: mask, noise: noise)
        }
        let batches = (0...`repeat`).map { _ in makeBatch() }
        _ = try trainer.step(batch: batches[0])  // warm-up
        var times: [Double] = []
        let loadBefore = Self.loadAverage()
        let cpu0 = Self.cpuSeconds()
        for b in batches.dropFirst() {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try trainer.step(batch: b)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let median = Self.median(times)
        let engine = try InferenceEngine(weights: weights, options: EngineOptions(threads: 1))
        let forwardMACs = engine.multiplyAccumulates(
            for: TensorShape(batch: batch, height: side, width: side, channels: arch.inputChannels))
        let flops = 2 * Double(forwardMACs) * 3 * 2
        let result = Result(
            model: model ?? "random paper-size weights", architecture: arch.description, size: side,
            repeats: `repeat`, threads: Parallel.processorCount, threading: "trainer",
            openblas_coretype: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(auto)",
            seconds: times, median_seconds: median, ms_per_megapixel: median * 1000 / (Double(batch * side * side) / 1e6),
            flops: flops, gflops: flops / median / 1e9, workspace_bytes: 0, peak_rss_bytes: Self.peakRSS(),
            algorithm: ConvolutionAlgorithm.automatic.rawValue, mode: "train", batch: batch, patch: side,
            loadavg_before: loadBefore, loadavg_after: Self.loadAverage(),
            cpu_seconds_per_run: (Self.cpuSeconds() - cpu0) / Double(`repeat`))
        if json { report(result); return }
        print("model        \(result.model) (\(result.architecture))")
        print("train step   batch \(batch) × \(side)×\(side), OPENBLAS_CORETYPE=\(result.openblas_coretype), both passes + Adam")
        print(String(format: "median       %.4f s over %d steps (%@)", median, `repeat`,
                     times.map { String(format: "%.4f", $0) }.joined(separator: ", ")))
        print(String(format: "throughput   %.1f GFLOP/s effective (%.3g GFLOP per step = 3 × forward × 2 passes)",
                     result.gflops, flops / 1e9))
        print("memory       peak RSS \(result.peak_rss_bytes >> 20) MiB; load \(loadBefore) → \(result.loadavg_after ?? "?")")
    }

    func runPredict(_ engine: InferenceEngine) throws {
        let channels = engine.architecture.inputChannels
        var state: UInt64 = 7
        let image = FloatImage(height: size, width: size, channels: channels, pixels: (0..<(size * size * channels)).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) * 255
        })
        let layout = engine.tileLayout(height: size, width: size)
        var times: [Double] = []
        var tilesRun = 0
        for _ in 0..<`repeat` {
            let t0 = DispatchTime.now().uptimeNanoseconds
            do {
                _ = try engine.predictReporting(image) { done, _ in
                    tilesRun = done
                    return maxTiles.map { done < $0 } ?? true
                }
            } catch InferenceError.cancelled {}
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let sorted = times.sorted()
        let median = sorted[sorted.count / 2]
        let tileShape = TensorShape(height: layout.tileHeight, width: layout.tileWidth, channels: channels)
        let flops = 2 * Double(engine.multiplyAccumulates(for: tileShape)) * Double(tilesRun)
        let result = Result(
            model: model ?? "random paper-size weights", architecture: engine.architecture.description, size: size,
            repeats: `repeat`, threads: threads, threading: threading,
            openblas_coretype: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(auto)",
            seconds: times, median_seconds: median, ms_per_megapixel: median * 1000 / (Double(size * size) / 1e6),
            flops: flops, gflops: flops / median / 1e9, workspace_bytes: engine.workspaceBytes(for: tileShape),
            peak_rss_bytes: Self.peakRSS(), tiles: layout.tileCount, tiles_run: tilesRun)
        report(result)
        if !json {
            print("tiles        \(tilesRun) of \(layout.tileCount) run (\(layout.tileHeight)×\(layout.tileWidth))"
                  + (tilesRun < layout.tileCount ? " — partial run: time and ms/megapixel cover only these tiles" : ""))
        }
    }

    func report(_ result: Result) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: (try? encoder.encode(result)) ?? Data(), as: UTF8.self))
        } else {
            print("model        \(result.model) (\(result.architecture))")
            print("input        \(result.size)×\(result.size), batch 1, \(threads) threads (\(threading)), "
                  + "OPENBLAS_CORETYPE=\(result.openblas_coretype)\(predict ? ", whole predict path" : ", network only")")
            print(String(format: "median       %.4f s over %d runs (%@)", result.median_seconds, `repeat`,
                         result.seconds.map { String(format: "%.4f", $0) }.joined(separator: ", ")))
            print(String(format: "throughput   %.1f ms/megapixel, %.1f GFLOP/s effective (%.3g GFLOP per run)",
                         result.ms_per_megapixel, result.gflops, result.flops / 1e9))
            if let cpu = result.cpu_seconds_per_run { print(String(format: "cpu          %.3f CPU-s per run (load %@)", cpu, result.loadavg_before ?? "?")) }
            print("memory       workspace \(result.workspace_bytes >> 20) MiB, peak RSS \(result.peak_rss_bytes >> 20) MiB")
        }
    }
}
