import CheckpointImport
@testable import Denoiser
import XCTest

final class ConvolutionTests: XCTestCase {
    /// 3×3 'same' on a 2×2 image of ones with an all-ones kernel: each output sees all 4 pixels → 4.
    func testConv3x3HandCase() {
        let x = Tensor(height: 2, width: 2, channels: 1, values: [1, 1, 1, 1])
        let k = FloatTensor(shape: [3, 3, 1, 1], repeating: 1)
        XCTAssertEqual(Conv2D.forward(x, kernel: k).values, [4, 4, 4, 4])
        // right-neighbour tap (ky=1, kx=2) only: cross-correlation reads x+1 → shift left, zero fill at the edge
        var shift = FloatTensor(shape: [3, 3, 1, 1], repeating: 0)
        shift.values[1 * 3 + 2] = 1
        let ramp = Tensor(height: 2, width: 3, channels: 1, values: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(Conv2D.forward(ramp, kernel: shift).values, [2, 3, 0, 5, 6, 0])
    }

    func testConv3x3MatchesDirectLoopOnOddSizesAndBatch() {
        var rng = TestRandom(seed: 1)
        let x = rng.tensor(2, 7, 5, 3)
        let k = FloatTensor(shape: [3, 3, 3, 4], values: rng.values(3 * 3 * 3 * 4))
        let bias = rng.values(4)
        let got = Conv2D.forward(x, kernel: k, bias: bias, threads: 2)
        XCTAssertLessThan(got.relativeError(to: Naive.conv(x, kernel: k, bias: bias, stride: 1)), 1e-6)
    }

    /// Chunked im2col (scratch for only 3 rows at a time) gives the same result as one big GEMM.
    func testConvChunkedScratchAndStridedOutput() {
        var rng = TestRandom(seed: 2)
        let x = rng.tensor(1, 9, 11, 4)
        let k = FloatTensor(shape: [3, 3, 4, 6], values: rng.values(3 * 3 * 4 * 6))
        let g = ConvolutionGeometry(height: 9, width: 11, inputChannels: 4, outputChannels: 6, kernelSize: 3)
        let scratch = AlignedBuffer(count: 3 * g.patchLength + 5)
        // write into channels 0..<6 of an 8-channel buffer to exercise outputPixelStride
        var out = [Float](repeating: 7, count: 9 * 11 * 8)
        x.values.withUnsafeBufferPointer { xp in
            k.values.withUnsafeBufferPointer { kp in
                out.withUnsafeMutableBufferPointer { op in
                    Conv2D.forward(g, input: xp.baseAddress!, kernel: kp.baseAddress!, bias: nil,
                                   output: op.baseAddress!, outputPixelStride: 8, scratch: scratch.buffer, threads: 2)
                }
            }
        }
        let ref = Naive.conv(x, kernel: k, bias: nil, stride: 1)
        var maxErr: Float = 0
        for p in 0..<(9 * 11) {
            for c in 0..<6 { maxErr = max(maxErr, abs(out[p * 8 + c] - ref.values[p * 6 + c])) }
            XCTAssertEqual(out[p * 8 + 6], 7); XCTAssertEqual(out[p * 8 + 7], 7)
        }
        XCTAssertLessThan(maxErr, 1e-5)
    }

    func testPointwiseConvIsMatrixProduct() {
        // 1×1: out[p, o] = Σ_c x[p, c] K[c, o]; hand case with 2 pixels, 2 → 3 channels.
        let x = Tensor(height: 1, width: 2, channels: 2, values: [1, 2, 3, 4])
        let k = FloatTensor(shape: [1, 1, 2, 3], values: [1, 0, -1, 10, 1, 2])
        XCTAssertEqual(Conv2D.forward(x, kernel: k).values, [21, 2, 3, 43, 4, 5])
        var rng = TestRandom(seed: 3)
        let big = rng.tensor(2, 5, 3, 7)
        let k2 = FloatTensor(shape: [1, 1, 7, 2], values: rng.values(14))
        XCTAssertLessThan(Conv2D.forward(big, kernel: k2).relativeError(to: Naive.conv(big, kernel: k2, bias: nil, stride: 1)), 1e-6)
    }

    /// 2×2 stride 2 on a 3×3 image: TF pads one row/column at the bottom/right only.
    /// Values 1…9, all-ones kernel, bias 0.5 → [[1+2+4+5, 3+6], [7+8, 9]] + 0.5.
    func testStride2OddSizePadsBottomRightOnly() {
        let x = Tensor(height: 3, width: 3, channels: 1, values: (1...9).map(Float.init))
        let k = FloatTensor(shape: [2, 2, 1, 1], repeating: 1)
        let got = Conv2D.forward(x, kernel: k, bias: [0.5], stride: 2)
        XCTAssertEqual(got.shape, TensorShape(height: 2, width: 2, channels: 1))
        XCTAssertEqual(got.values, [12.5, 9.5, 15.5, 9.5])
        let g = ConvolutionGeometry(height: 5, width: 8, inputChannels: 1, outputChannels: 1, kernelSize: 2, stride: 2)
        XCTAssertEqual([g.outputHeight, g.outputWidth, g.padTop, g.padLeft], [3, 4, 0, 0])
    }

    func testStride2MatchesDirectLoop() {
        var rng = TestRandom(seed: 4)
        for (h, w) in [(7, 5), (8, 6), (1, 1)] {
            let x = rng.tensor(2, h, w, 3)
            let k = FloatTensor(shape: [2, 2, 3, 5], values: rng.values(60))
            let bias = rng.values(5)
            let got = Conv2D.forward(x, kernel: k, bias: bias, stride: 2, threads: 2)
            XCTAssertLessThan(got.relativeError(to: Naive.conv(x, kernel: k, bias: bias, stride: 2)), 1e-6, "\(h)×\(w)")
        }
    }

    func testEpilogueAccumulateAndReLU() {
        var rng = TestRandom(seed: 5)
        let x = rng.tensor(1, 4, 3, 2)
        let k = FloatTensor(shape: [3, 3, 2, 2], values: rng.values(36))
        let shortcut = rng.tensor(1, 4, 3, 2)
        var out = shortcut
        let g = ConvolutionGeometry(height: 4, width: 3, inputChannels: 2, outputChannels: 2, kernelSize: 3)
        let scratch = AlignedBuffer(count: Conv2D.preferredScratchCount(g))
        x.values.withUnsafeBufferPointer { xp in
            k.values.withUnsafeBufferPointer { kp in
                out.values.withUnsafeMutableBufferPointer { op in
                    Conv2D.forward(g, input: xp.baseAddress!, kernel: kp.baseAddress!, bias: nil, output: op.baseAddress!,
                                   epilogue: .init(accumulate: true, relu: true), scratch: scratch.buffer, threads: 1)
                }
            }
        }
        let conv = Naive.conv(x, kernel: k, bias: nil, stride: 1)
        for i in 0..<out.count {
            XCTAssertEqual(out.values[i], max(conv.values[i] + shortcut.values[i], 0), accuracy: 1e-5)
        }
    }
}

final class TransposedConvolutionTests: XCTestCase {
    /// One input pixel (value 2), Cin 1, Cout 2: output pixel (a, b) channel o = 2·K[a,b,o,0] + bias[o].
    func testLayoutHandCase() {
        let x = Tensor(height: 1, width: 1, channels: 1, values: [2])
        // K[a,b,o,0] = 10a + 5b + o + 1
        var kv = [Float](repeating: 0, count: 8)
        for a in 0..<2 { for b in 0..<2 { for o in 0..<2 { kv[(a * 2 + b) * 2 + o] = Float(10 * a + 5 * b + o + 1) } } }
        let got = TransposedConv2D.forward(x, kernel: FloatTensor(shape: [2, 2, 2, 1], values: kv), bias: [100, 200])
        XCTAssertEqual(got.shape, TensorShape(height: 2, width: 2, channels: 2))
        // (a,b)=(0,0): K=1,2 → 102, 204; (0,1): 6,7 → 112, 214; (1,0): 11,12 → 122, 224; (1,1): 16,17 → 132, 234
        XCTAssertEqual(got.values, [102, 204, 112, 214, 122, 224, 132, 234])
    }

    func testMatchesDirectLoop() {
        var rng = TestRandom(seed: 6)
        let x = rng.tensor(2, 3, 5, 4)
        let k = FloatTensor(shape: [2, 2, 3, 4], values: rng.values(48))
        let bias = rng.values(3)
        let got = TransposedConv2D.forward(x, kernel: k, bias: bias, threads: 2)
        XCTAssertLessThan(got.relativeError(to: Naive.transposedConv(x, kernel: k, bias: bias)), 1e-6)
        // chunked: scratch for one input pixel at a time, output into a wider (concat) buffer with ReLU
        let g = TransposedConvolutionGeometry(batch: 2, height: 3, width: 5, inputChannels: 4, outputChannels: 3)
        let scratch = AlignedBuffer(count: TransposedConv2D.minimumScratchCount(g))
        var out = [Float](repeating: -9, count: 2 * 6 * 10 * 5)
        x.values.withUnsafeBufferPointer { xp in
            k.values.withUnsafeBufferPointer { kp in
                bias.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { op in
                        TransposedConv2D.forward(g, input: xp.baseAddress!, kernel: kp.baseAddress!, bias: bp.baseAddress!,
                                                 output: op.baseAddress!, outputPixelStride: 5, relu: true,
                                                 scratch: scratch.buffer, threads: 2)
                    }
                }
            }
        }
        let ref = Naive.transposedConv(x, kernel: k, bias: bias)
        for p in 0..<(2 * 6 * 10) {
            for c in 0..<3 { XCTAssertEqual(out[p * 5 + c], max(ref.values[p * 3 + c], 0), accuracy: 1e-5) }
            XCTAssertEqual(out[p * 5 + 3], -9)
        }
    }
}

final class ElementWiseOpTests: XCTestCase {
    func testBatchNormInferenceAndReLU() {
        var rng = TestRandom(seed: 7)
        let x = rng.tensor(1, 3, 4, 3)
        let p = BatchNormParameters(gamma: [1.5, -0.5, 2], beta: [0.1, 0.2, -0.3], movingMean: [0.2, -0.1, 0],
                                    movingVariance: [0.5, 2, 0.01])
        XCTAssertEqual(p.epsilon, 1.001e-5)
        let ref = Naive.batchNorm(x, p)
        XCTAssertLessThan(BatchNorm.inference(x, p).relativeError(to: ref), 1e-6)
        let refRelu = Tensor(shape: ref.shape, values: ref.values.map { max($0, 0) })
        XCTAssertLessThan(BatchNorm.inference(x, p, relu: true, threads: 2).relativeError(to: refRelu), 1e-6)
        // hand case: γ=2, β=1, mean 3, var 4−ε → x=5: 2·(5−3)/2 + 1 = 3
        let one = BatchNormParameters(gamma: [2], beta: [1], movingMean: [3], movingVariance: [4 - 1.001e-5])
        XCTAssertEqual(BatchNorm.inference(Tensor(height: 1, width: 1, channels: 1, values: [5]), one).values[0], 3, accuracy: 1e-6)
    }

    /// conv → BN equals the conv with BN folded into kernel and bias (both conv kinds).
    func testBatchNormFolding() {
        var rng = TestRandom(seed: 8)
        let p = BatchNormParameters(gamma: rng.values(4), beta: rng.values(4), movingMean: rng.values(4),
                                    movingVariance: rng.values(4).map { $0 * $0 + 0.1 })
        let x = rng.tensor(1, 5, 6, 3)
        let k = FloatTensor(shape: [3, 3, 3, 4], values: rng.values(108))
        let bias = rng.values(4)
        let folded = p.affine().foldIntoConvolution(kernel: k.values, bias: bias)
        let got = Conv2D.forward(x, kernel: FloatTensor(shape: k.shape, values: folded.kernel), bias: folded.bias)
        XCTAssertLessThan(got.relativeError(to: Naive.batchNorm(Naive.conv(x, kernel: k, bias: bias, stride: 1), p)), 1e-5)

        let tk = FloatTensor(shape: [2, 2, 4, 3], values: rng.values(48))
        let tf = p.affine().foldIntoTransposedConvolution(kernel: tk.values, bias: bias, inputChannels: 3)
        let tgot = TransposedConv2D.forward(x, kernel: FloatTensor(shape: tk.shape, values: tf.kernel), bias: tf.bias)
        XCTAssertLessThan(tgot.relativeError(to: Naive.batchNorm(Naive.transposedConv(x, kernel: tk, bias: bias), p)), 1e-5)
    }

    func testReLUAddConcat() {
        let a = Tensor(height: 1, width: 2, channels: 2, values: [-1, 2, 3, -4])
        let b = Tensor(height: 1, width: 2, channels: 1, values: [10, 20])
        XCTAssertEqual(ReLU.forward(a).values, [0, 2, 3, 0])
        XCTAssertEqual(Add.forward(a, a).values, [-2, 4, 6, -8])
        // upsampled (first) channels come before skip (second) channels at every pixel
        XCTAssertEqual(Concat.forward(a, b).values, [-1, 2, 10, 3, -4, 20])
    }
}
