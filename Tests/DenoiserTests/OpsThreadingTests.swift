import CheckpointImport
@testable import Denoiser
import XCTest

/// The ops run either with worker-level parallelism (OpenBLAS at 1 thread, chunks spread over workers,
/// each with its own scratch slice) or with threaded GEMMs; both must match the direct loops, with many
/// chunks and odd sizes.
final class OpsThreadingTests: XCTestCase {
    override func tearDown() { GEMM.setThreads(Parallel.processorCount) }

    /// A 1×1 convolution needs no scratch: an empty buffer is accepted in both modes.
    func testPointwiseWithoutScratch() {
        var rng = TestRandom(seed: 22)
        let x = rng.tensor(1, 16, 16, 3)
        let k = FloatTensor(shape: [1, 1, 3, 4], values: rng.values(12))
        let ref = Naive.conv(x, kernel: k, bias: nil, stride: 1)
        for blasThreads in [1, 2] {
            GEMM.setThreads(blasThreads)
            var out = Tensor(shape: ref.shape)
            x.values.withUnsafeBufferPointer { xp in
                k.values.withUnsafeBufferPointer { kp in
                    out.values.withUnsafeMutableBufferPointer { op in
                        Conv2D.forward(ConvolutionGeometry(height: 16, width: 16, inputChannels: 3, outputChannels: 4, kernelSize: 1),
                                       input: xp.baseAddress!, kernel: kp.baseAddress!, bias: nil, output: op.baseAddress!,
                                       scratch: UnsafeMutableBufferPointer(start: nil, count: 0), threads: 2)
                    }
                }
            }
            XCTAssertLessThan(out.relativeError(to: ref), 1e-6)
        }
    }

    func testBothThreadingModesMatchDirectLoops() {
        var rng = TestRandom(seed: 21)
        let x = rng.tensor(1, 23, 19, 5)  // 437 pixels: ≥ 2 workers, odd sizes
        let k3 = FloatTensor(shape: [3, 3, 5, 7], values: rng.values(315))
        let k1 = FloatTensor(shape: [1, 1, 5, 7], values: rng.values(35))
        let k2 = FloatTensor(shape: [2, 2, 5, 7], values: rng.values(140))
        let tk = FloatTensor(shape: [2, 2, 7, 5], values: rng.values(140))
        let bias = rng.values(7)
        let ref3 = Naive.conv(x, kernel: k3, bias: bias, stride: 1)
        let ref1 = Naive.conv(x, kernel: k1, bias: nil, stride: 1)
        let ref2 = Naive.conv(x, kernel: k2, bias: bias, stride: 2)
        let refT = Naive.transposedConv(x, kernel: tk, bias: bias)
        for blasThreads in [1, 2] {
            GEMM.setThreads(blasThreads)
            XCTAssertEqual(Parallel.convolutionWorkers(threads: 2, rows: 437), blasThreads == 1 ? 2 : 1)
            for (kernel, stride, b, ref) in [(k3, 1, Optional(bias), ref3), (k1, 1, nil, ref1), (k2, 2, Optional(bias), ref2)] {
                let g = ConvolutionGeometry(height: 23, width: 19, inputChannels: 5, outputChannels: 7,
                                            kernelSize: kernel.shape[0], stride: stride)
                // scratch for ~10 rows per worker → dozens of chunks
                let scratch = AlignedBuffer(count: 2 * 10 * g.patchLength)
                var out = Tensor(shape: g.outputShape)
                x.values.withUnsafeBufferPointer { xp in
                    kernel.values.withUnsafeBufferPointer { kp in
                        (b ?? []).withUnsafeBufferPointer { bp in
                            out.values.withUnsafeMutableBufferPointer { op in
                                Conv2D.forward(g, input: xp.baseAddress!, kernel: kp.baseAddress!,
                                               bias: b == nil ? nil : bp.baseAddress!, output: op.baseAddress!,
                                               scratch: scratch.buffer, threads: 2)
                            }
                        }
                    }
                }
                XCTAssertLessThan(out.relativeError(to: ref), 1e-6, "k \(kernel.shape[0]) stride \(stride) blas \(blasThreads)")
            }
            let tg = TransposedConvolutionGeometry(height: 23, width: 19, inputChannels: 5, outputChannels: 7)
            let scratch = AlignedBuffer(count: 2 * 10 * 4 * 7)
            var out = Tensor(shape: tg.outputShape)
            x.values.withUnsafeBufferPointer { xp in
                tk.values.withUnsafeBufferPointer { kp in
                    bias.withUnsafeBufferPointer { bp in
                        out.values.withUnsafeMutableBufferPointer { op in
                            TransposedConv2D.forward(tg, input: xp.baseAddress!, kernel: kp.baseAddress!, bias: bp.baseAddress!,
                                                     output: op.baseAddress!, scratch: scratch.buffer, threads: 2)
                        }
                    }
                }
            }
            XCTAssertLessThan(out.relativeError(to: refT), 1e-6, "transposed, blas \(blasThreads)")
        }
    }
}
