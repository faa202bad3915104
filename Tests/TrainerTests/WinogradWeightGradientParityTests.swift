import CheckpointImport
@testable import Denoiser
import Foundation
import TestSupport
@testable import Trainer
import XCTest

/// The trainer's Winograd weight gradients (`Conv2D.backward` with `weightGradientAlgorithm`) against its
/// im2col path and against TensorFlow's small-step gradients with the variant forced on every 3×3 layer.
final class WinogradWeightGradientParityTests: XCTestCase {
    override func tearDown() { GEMM.setThreads(Parallel.processorCount) }

    private static func randomTensor(_ rng: inout TrainingRandom, _ n: Int, _ h: Int, _ w: Int, _ c: Int, relu: Bool = false) -> Tensor {
        Tensor(shape: TensorShape(batch: n, height: h, width: w, channels: c),
               values: (0..<(n * h * w * c)).map { _ in let v = Float(rng.gaussian()); return relu ? max(v, 0) : v })
    }

    /// Kernel, input and bias gradients of the Winograd variants vs im2col on odd sizes (partial border
    /// tiles), batch 2, channel counts that are not multiples of 8.
    func testBackwardMatchesIm2colOnOddSizes() {
        var rng = TrainingRandom(seed: 31)
        for (h, w, cin, cout) in [(13, 17, 6, 5), (5, 7, 11, 13), (17, 13, 20, 9)] {
            let x = Self.randomTensor(&rng, 2, h, w, cin)
            let dy = Self.randomTensor(&rng, 2, h, w, cout)
            let kernel = FloatTensor(shape: [3, 3, cin, cout], values: (0..<(9 * cin * cout)).map { _ in Float(rng.gaussian()) })
            let start = (0..<(9 * cin * cout)).map { _ in Float(rng.gaussian()) }
            var reference = start
            let ref = Conv2D.backward(input: x, outputGradient: dy, kernel: kernel, kernelGradient: &reference,
                                      weightGradientAlgorithm: .im2colGEMM, threads: 2)
            let refIncrement = zip(reference, start).map { $0 - $1 }
            for algorithm in [ConvolutionAlgorithm.winogradF2x2, .winogradF4x4] {
                var dw = start
                let got = Conv2D.backward(input: x, outputGradient: dy, kernel: kernel, kernelGradient: &dw,
                                          weightGradientAlgorithm: algorithm, threads: 2)
                let e = Compare.relativeL2(zip(dw, start).map { $0 - $1 }, refIncrement)
                XCTAssertLessThan(e, algorithm == .winogradF2x2 ? 1e-6 : 1e-5, "\(algorithm) \(h)×\(w) \(cin)→\(cout)")
                XCTAssertEqual(got.bias, ref.bias)
                XCTAssertEqual(got.input, ref.input)
            }
        }
    }

    /// One small-step gradient evaluation with the Winograd weight gradient forced on every 3×3 convolution
    /// (including the first, 1 → 5 channels, and the 5-channel level, which `.automatic` leaves to im2col):
    /// all 44 gradients must stay within TF's recording at the parity tolerance. A wrong Winograd weight
    /// gradient fails here (every 3×3 kernel gradient comes from it).
    func testSmallStepGradientsWithForcedWinogradWeightGradients() throws {
        let fixture = try SmallStepFixture()
        let weights = try SmallStepFixture.startingWeights()
        let trainable = weights.architecture.parameterSpecs.filter { $0.role.isTrainable }
        for algorithm in [ConvolutionAlgorithm.winogradF2x2, .winogradF4x4, .automatic, .im2colGEMM] {
            var config = TrainingConfig(loss: .noise2Same(lambda: fixture.lambda), replacement: .donut)
            config.weightGradientAlgorithm = algorithm
            let d = try Trainer(weights: weights, config: config).evaluateStep(batch: fixture.trainingBatch)
            var worst = (name: "", error: 0.0), worstKernel = 0.0
            for spec in trainable where !SmallStepFixture.isZeroGradientBias(spec.name) {
                let err = Compare.relativeL2(try XCTUnwrap(d.gradients[spec.name]), try fixture.gradient(spec.name))
                if err > worst.error { worst = (spec.name, err) }
                if spec.role == .kernel && spec.shape.first == 3 { worstKernel = max(worstKernel, err) }
                XCTAssertLessThanOrEqual(err, 1e-3, "\(algorithm) gradient \(spec.name): rel L2 \(err)")
            }
            print(String(format: "small-step, weight gradients by %@: worst rel L2 %.2e (%@), worst 3×3 kernel %.2e",
                         algorithm.rawValue, worst.error, worst.name, worstKernel))
        }
    }

    /// Every 3×3 layer of the paper model at batch 4 (or `N2SPD_BATCH`), 64² (random post-ReLU inputs,
    /// Gaussian output gradients): the Winograd weight gradient's rel L2 vs im2col and the times (median of 3,
    /// wall and CPU ms, OpenBLAS at one thread as in a training step). Benchmark and report, not a test: runs
    /// only with `N2SPD_BENCH=1`.
    func testPaperShapes() throws {
        guard ProcessInfo.processInfo.environment["N2SPD_BENCH"] == "1" else {
            throw XCTSkip("set N2SPD_BENCH=1 to run the paper-shape weight-gradient report")
        }
        let batch = Int(ProcessInfo.processInfo.environment["N2SPD_BATCH"] ?? "4") ?? 4
        let patch = 64, base = 96
        var shapes: [(Int, Int, Int)] = []  // (side, cin, cout), each distinct 3×3 shape once
        for spec in ModelArchitecture.paper.parameterSpecs where spec.role == .kernel && spec.shape[0] == 3 {
            let s = (patch * base / max(spec.shape[3], base), spec.shape[2], spec.shape[3])
            if !shapes.contains(where: { $0 == s }) { shapes.append(s) }
        }
        var rng = TrainingRandom(seed: 32)
        func cpu() -> Double {
            var u = rusage()
            getrusage(RUSAGE_SELF.rawValue, &u)
            return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
        }
        for (side, cin, cout) in shapes {
            let x = Self.randomTensor(&rng, batch, side, side, cin, relu: true)
            let dy = Self.randomTensor(&rng, batch, side, side, cout)
            let g = ConvolutionGeometry(batch: batch, height: side, width: side, inputChannels: cin, outputChannels: cout, kernelSize: 3)
            let kernel = FloatTensor(shape: [3, 3, cin, cout], values: [Float](repeating: 0, count: 9 * cin * cout))
            func time(_ body: () -> Void) -> (wall: Double, cpu: Double) {
                body()
                var walls: [Double] = [], cpus: [Double] = []
                for _ in 0..<3 {
                    let t0 = Date(), c0 = cpu()
                    body()
                    walls.append(Date().timeIntervalSince(t0) * 1000)
                    cpus.append((cpu() - c0) * 1000)
                }
                return (walls.sorted()[1], cpus.sorted()[1])
            }
            var reference = [Float](repeating: 0, count: kernel.count)
            GEMM.setThreads(1)  // as inside a training step: im2col's GEMMs split over the cores by SplitGEMM
            let im2col = time {
                for i in reference.indices { reference[i] = 0 }
                _ = Conv2D.backward(input: x, outputGradient: dy, kernel: kernel, kernelGradient: &reference,
                                    needInputGradient: false, weightGradientAlgorithm: .im2colGEMM, threads: 2)
            }
            var line = String(format: "%d×%d×%d %3d→%3d im2col %6.1f ms (%6.1f cpu)", batch, side, side, cin, cout, im2col.wall, im2col.cpu)
            for variant in WinogradVariant.allCases {
                for partition in WinogradWeightGradient.Partition.allCases {
                    for block in [64, 128, 256, 512] where variant == .f4x4 || block == 256 {
                        let scratch = AlignedBuffer(count: WinogradWeightGradient.scratchCount(
                            g, variant: variant, workers: 2, blockTiles: block, partition: partition))
                        var dw = [Float](repeating: 0, count: kernel.count)
                        let t = time {
                            x.values.withUnsafeBufferPointer { xp in
                                dy.values.withUnsafeBufferPointer { gp in
                                    dw.withUnsafeMutableBufferPointer { wp in
                                        wp.update(repeating: 0)
                                        WinogradWeightGradient.accumulate(g, variant: variant, input: xp.baseAddress!,
                                                                          outputGradient: gp.baseAddress!, kernelGradient: wp.baseAddress!,
                                                                          scratch: scratch.buffer, threads: 2, blockTiles: block,
                                                                          partition: partition)
                                    }
                                }
                            }
                        }
                        line += String(format: " | %@ %@ b%d %6.1f ms (%6.1f cpu) relL2 %.1e", variant == .f2x2 ? "F2" : "F4",
                                       partition == .tiles ? "T" : "X", block, t.wall, t.cpu, Compare.relativeL2(dw, reference))
                    }
                }
            }
            print(line)
        }
    }
}
