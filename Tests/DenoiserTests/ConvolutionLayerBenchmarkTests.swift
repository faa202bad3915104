import CheckpointImport
@testable import Denoiser
import Foundation
import XCTest

/// Benchmark, not a test: every 3×3 layer shape of the paper model at a 256² input, im2col vs Winograd
/// F(2×2) / F(4×4), two workers with single-threaded OpenBLAS (the engine's mode). Runs only with
/// `N2SPD_BENCH=1`. Prints wall and CPU milliseconds (median of 5) per layer; BENCHMARKS.md quotes them.
final class ConvolutionLayerBenchmarkTests: XCTestCase {
    override func tearDown() { GEMM.setThreads(Parallel.processorCount) }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    func testPaperLayerTimes() throws {
        guard ProcessInfo.processInfo.environment["N2SPD_BENCH"] == "1" else {
            throw XCTSkip("set N2SPD_BENCH=1 to run the per-layer benchmark")
        }
        GEMM.setThreads(1)
        let shapes: [(String, Int, Int, Int)] = [
            ("first 1→96 @256²", 256, 1, 96), ("L1 96→96 @256²", 256, 96, 96), ("L1 192→96 @256²", 256, 192, 96),
            ("L2 192→192 @128²", 128, 192, 192), ("L2 384→192 @128²", 128, 384, 192), ("L3 384→384 @64²", 64, 384, 384),
        ]
        var rng = TestRandom(seed: 5)
        for (name, side, cin, cout) in shapes {
            let g = ConvolutionGeometry(height: side, width: side, inputChannels: cin, outputChannels: cout, kernelSize: 3)
            let x = AlignedBuffer(count: side * side * cin)
            for i in 0..<x.count { x.pointer[i] = rng.next() }
            let k = AlignedBuffer(count: 9 * cin * cout)
            for i in 0..<k.count { k.pointer[i] = rng.next() * 0.05 }
            let y = AlignedBuffer(count: side * side * cout)
            var line = String(format: "%-20@", name)
            var base = 0.0
            for algorithm in [ConvolutionAlgorithm.im2colGEMM, .winogradF2x2, .winogradF4x4] {
                let variant = algorithm.winogradVariant(for: g)
                let wk = variant.map { WinogradKernel(variant: $0, kernel: k.pointer, inputChannels: cin, outputChannels: cout) }
                let scratch = AlignedBuffer(count: wk.map { WinogradConv2D.scratchCount(g, variant: $0.variant, workers: 2) }
                                            ?? Conv2D.preferredScratchCount(g))
                func once() {
                    if let wk {
                        WinogradConv2D.forward(g, input: x.pointer, kernel: wk, bias: nil, output: y.pointer,
                                               scratch: scratch.buffer, threads: 2)
                    } else {
                        Conv2D.forward(g, input: x.pointer, kernel: k.pointer, bias: nil, output: y.pointer,
                                       scratch: scratch.buffer, threads: 2)
                    }
                }
                once()
                var walls: [Double] = [], cpus: [Double] = []
                for _ in 0..<5 {
                    let t0 = Date(), c0 = Self.cpuSeconds()
                    once()
                    walls.append(Date().timeIntervalSince(t0) * 1000)
                    cpus.append((Self.cpuSeconds() - c0) * 1000)
                }
                let wall = walls.sorted()[2], cpu = cpus.sorted()[2]
                if algorithm == .im2colGEMM { base = cpu }
                line += String(format: " | %@ %.1f ms wall, %.1f CPU-ms (%.2f×)", algorithm.rawValue, wall, cpu, base / cpu)
            }
            print("layer " + line)
        }
    }
}
