import CheckpointImport
@testable import Denoiser
import XCTest

/// The engine's own GEMM (`PackedGEMM`, `WinogradGEMM`'s micro-tiles) on shapes with partial micro-tiles
/// (rows not a multiple of 6, columns not a multiple of 16), strided A and C, and the convolutions that use
/// it, against double-precision direct loops. Also the Winograd work split between workers.
final class PackedGEMMTests: XCTestCase {
    override func tearDown() { GEMM.setThreads(Parallel.processorCount) }

    func testPackedGEMMMatchesDirectProductOnEdgeShapes() {
        var rng = TestRandom(seed: 81)
        for (rows, k, n) in [(1, 1, 1), (5, 7, 3), (6, 9, 16), (13, 96, 40), (127, 33, 17), (250, 20, 48), (7, 768, 32)] {
            for transposed in [false, true] {
                let lda = k + 3, ldc = n + 5
                let a = rng.values(rows * lda)
                let bValues = rng.values(k * n)  // [k, n], or [n, k] when transposed
                let packed = bValues.withUnsafeBufferPointer {
                    PackedMatrix(rows: k, columns: n, source: $0.baseAddress!, transposed: transposed)
                }
                var c = [Float](repeating: 42, count: rows * ldc)
                a.withUnsafeBufferPointer { ap in
                    c.withUnsafeMutableBufferPointer { cp in
                        PackedGEMM.multiply(rows: rows, a: ap.baseAddress!, lda: lda, b: packed, c: cp.baseAddress!, ldc: ldc)
                    }
                }
                var maxError = 0.0, maxRef = 0.0
                for i in 0..<rows {
                    for j in 0..<n {
                        var s = 0.0
                        for l in 0..<k {
                            let b = transposed ? bValues[j * k + l] : bValues[l * n + j]
                            s += Double(a[i * lda + l]) * Double(b)
                        }
                        maxError = max(maxError, abs(Double(c[i * ldc + j]) - s))
                        maxRef = max(maxRef, abs(s))
                    }
                    for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], 42, "padding column written, \(rows)×\(k)×\(n)") }
                }
                XCTAssertLessThan(maxError / max(maxRef, 1e-30), 2e-6, "\(rows)×\(k)×\(n) transposed \(transposed)")
            }
        }
    }

    /// 1×1 (strided input and output) and 2×2/2 (odd sizes, scratch for only a few im2col rows per worker)
    /// with the packed kernel, bias + ReLU, two workers with single-threaded OpenBLAS (the engine's mode).
    func testConvolutionWithPackedKernelMatchesDirectLoops() {
        var rng = TestRandom(seed: 82)
        GEMM.setThreads(1)
        for (kernelSize, stride, h, w, cin, cout) in [(1, 1, 13, 11, 20, 24), (2, 2, 13, 9, 12, 16), (2, 2, 30, 34, 24, 40)] {
            let x = rng.tensor(2, h, w, cin)
            let k = FloatTensor(shape: [kernelSize, kernelSize, cin, cout], values: rng.values(kernelSize * kernelSize * cin * cout))
            let bias = rng.values(cout)
            let g = ConvolutionGeometry(batch: 2, height: h, width: w, inputChannels: cin, outputChannels: cout,
                                        kernelSize: kernelSize, stride: stride)
            let packed = k.values.withUnsafeBufferPointer {
                PackedMatrix(rows: g.patchLength, columns: cout, source: $0.baseAddress!)
            }
            // input with 3 extra floats per pixel, output into a wider buffer (2 extra channels)
            let inStride = cin + 3, outStride = cout + 2
            var input = [Float](repeating: 0, count: 2 * h * w * inStride)
            for p in 0..<(2 * h * w) { for c in 0..<cin { input[p * inStride + c] = x.values[p * cin + c] } }
            let outPixels = g.outputPixelCount
            var out = [Float](repeating: -5, count: outPixels * outStride)
            let scratch = AlignedBuffer(count: 2 * 7 * max(g.patchLength, 1))  // 7 im2col rows per worker
            input.withUnsafeBufferPointer { xp in
                k.values.withUnsafeBufferPointer { kp in
                    bias.withUnsafeBufferPointer { bp in
                        out.withUnsafeMutableBufferPointer { op in
                            Conv2D.forward(g, input: xp.baseAddress!, inputPixelStride: inStride, kernel: kp.baseAddress!,
                                           bias: bp.baseAddress!, output: op.baseAddress!, outputPixelStride: outStride,
                                           epilogue: .init(relu: true), scratch: scratch.buffer, threads: 2,
                                           packedKernel: packed)
                        }
                    }
                }
            }
            let ref = Naive.conv(x, kernel: k, bias: bias, stride: stride)
            var maxError: Float = 0
            for p in 0..<outPixels {
                for c in 0..<cout { maxError = max(maxError, abs(out[p * outStride + c] - max(ref.values[p * cout + c], 0))) }
                XCTAssertEqual(out[p * outStride + cout], -5)
                XCTAssertEqual(out[p * outStride + cout + 1], -5)
            }
            XCTAssertLessThan(maxError, 1e-5, "\(kernelSize)×\(kernelSize)/\(stride) \(h)×\(w) \(cin)→\(cout)")
        }
    }

    /// Transposed 2×2/2 with the packed kernel: scratch for 5 input pixels per worker (several row blocks),
    /// Cout·4 not a multiple of 16, ReLU into a wider buffer.
    func testTransposedConvolutionWithPackedKernelMatchesDirectLoop() {
        var rng = TestRandom(seed: 83)
        GEMM.setThreads(1)
        let (h, w, cin, cout) = (7, 9, 10, 5)
        let x = rng.tensor(2, h, w, cin)
        let k = FloatTensor(shape: [2, 2, cout, cin], values: rng.values(4 * cout * cin))
        let bias = rng.values(cout)
        let g = TransposedConvolutionGeometry(batch: 2, height: h, width: w, inputChannels: cin, outputChannels: cout)
        let packed = k.values.withUnsafeBufferPointer {
            PackedMatrix(rows: cin, columns: 4 * cout, source: $0.baseAddress!, transposed: true)
        }
        let scratch = AlignedBuffer(count: 2 * 5 * 4 * cout)
        let stride = cout + 1
        var out = [Float](repeating: -9, count: 2 * 2 * h * 2 * w * stride)
        x.values.withUnsafeBufferPointer { xp in
            k.values.withUnsafeBufferPointer { kp in
                bias.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { op in
                        TransposedConv2D.forward(g, input: xp.baseAddress!, kernel: kp.baseAddress!, bias: bp.baseAddress!,
                                                 output: op.baseAddress!, outputPixelStride: stride, relu: true,
                                                 scratch: scratch.buffer, threads: 2, packedKernel: packed)
                    }
                }
            }
        }
        let ref = Naive.transposedConv(x, kernel: k, bias: bias)
        for p in 0..<(2 * 2 * h * 2 * w) {
            for c in 0..<cout { XCTAssertEqual(out[p * stride + c], max(ref.values[p * cout + c], 0), accuracy: 1e-5) }
            XCTAssertEqual(out[p * stride + cout], -9)
        }
    }

    /// Every tile is covered exactly once, both workers get the same number of tiles to within one, and each
    /// block is a whole number of micro-tiles no larger than the scratch was sized for.
    func testWinogradWorkSplitIsBalancedAndCoversEveryTile() {
        for total in [1, 5, 6, 7, 13, 100, 256, 1024, 4096, 4097, 16384, 12345] {
            for threads in [1, 2, 3] {
                let workers = WinogradConv2D.workers(total: total, threads: threads)
                XCTAssertGreaterThanOrEqual(workers, 1)
                XCTAssertLessThanOrEqual(workers, threads)
                let cap = WinogradConv2D.maximumBlock(total: total, blockTiles: WinogradConv2D.defaultBlockTiles)
                XCTAssertEqual(cap % WinogradGEMM.rowsPerMicroTile, 0)
                var covered = 0, shares: [Int] = []
                for w in 0..<workers {
                    let share = WinogradConv2D.workerTiles(total: total, workers: workers, worker: w)
                    XCTAssertEqual(share.lowerBound, covered, "contiguous shares")
                    covered = share.upperBound
                    shares.append(share.count)
                    let block = WinogradConv2D.blockSize(tiles: share.count, cap: cap)
                    XCTAssertEqual(block % WinogradGEMM.rowsPerMicroTile, 0)
                    XCTAssertLessThanOrEqual(block, cap)
                    XCTAssertGreaterThan(block, 0)
                }
                XCTAssertEqual(covered, total)
                XCTAssertLessThanOrEqual(shares.max()! - shares.min()!, 1, "\(total) tiles on \(workers) workers")
            }
        }
    }
}
