import CheckpointImport
@testable import Denoiser
import XCTest

/// Forces each Winograd variant on shapes where partial tiles, borders and several blocks/workers occur, and
/// compares with the direct double-precision loops (`Naive.conv`) and with the im2col path.
final class WinogradTests: XCTestCase {
    override func tearDown() { GEMM.setThreads(Parallel.processorCount) }

    private func run(_ variant: WinogradVariant, x: Tensor, kernel: FloatTensor, bias: [Float]?,
                     epilogue: ConvolutionEpilogue, initial: Tensor? = nil, threads: Int, blockTiles: Int) -> Tensor {
        let g = ConvolutionGeometry(batch: x.shape.batch, height: x.shape.height, width: x.shape.width,
                                    inputChannels: kernel.shape[2], outputChannels: kernel.shape[3], kernelSize: 3)
        let wk = WinogradKernel.make(variant: variant, kernel: kernel.values, inputChannels: g.inputChannels,
                                     outputChannels: g.outputChannels)
        var out = initial ?? Tensor(shape: g.outputShape)
        let scratch = AlignedBuffer(count: WinogradConv2D.scratchCount(g, variant: variant, workers: threads,
                                                                       blockTiles: blockTiles))
        x.values.withUnsafeBufferPointer { xp in
            out.values.withUnsafeMutableBufferPointer { op in
                withOptionalPointer(bias) { b in
                    WinogradConv2D.forward(g, input: xp.baseAddress!, kernel: wk, bias: b, output: op.baseAddress!,
                                           epilogue: epilogue, scratch: scratch.buffer, threads: threads,
                                           blockTiles: blockTiles)
                }
            }
        }
        return out
    }

    /// Odd sizes (partial tiles at the right and bottom), batch 2, small blocks (many blocks, both workers),
    /// bias + ReLU and accumulate epilogues, against the direct loops.
    func testVariantsMatchDirectLoopsOnOddSizes() {
        var rng = TestRandom(seed: 71)
        for (h, w) in [(1, 1), (2, 3), (5, 7), (13, 11), (17, 24)] {
            let x = rng.tensor(2, h, w, 6)
            let k = FloatTensor(shape: [3, 3, 6, 5], values: rng.values(270))
            let bias = rng.values(5)
            let plain = Naive.conv(x, kernel: k, bias: nil, stride: 1)
            let biased = Naive.conv(x, kernel: k, bias: bias, stride: 1)
            let start = rng.tensor(2, h, w, 5)
            for variant in WinogradVariant.allCases {
                // F(4×4)'s transform coefficients (up to 8) cost about one decimal digit over F(2×2)/im2col
                let tol = variant == .f2x2 ? 2e-6 : 1e-5
                for (threads, block) in [(1, 96), (2, 3)] {
                    let y = run(variant, x: x, kernel: k, bias: nil, epilogue: .none, threads: threads, blockTiles: block)
                    XCTAssertLessThan(y.relativeError(to: plain), tol, "\(variant) \(h)×\(w) threads \(threads) block \(block)")
                    let r = run(variant, x: x, kernel: k, bias: bias, epilogue: .init(relu: true), threads: threads, blockTiles: block)
                    var expected = biased
                    for i in expected.values.indices { expected.values[i] = max(expected.values[i], 0) }
                    XCTAssertLessThan(r.relativeError(to: expected), tol, "\(variant) relu \(h)×\(w)")
                    let a = run(variant, x: x, kernel: k, bias: nil, epilogue: .init(accumulate: true), initial: start,
                                threads: threads, blockTiles: block)
                    var sum = start
                    for i in sum.values.indices { sum.values[i] += plain.values[i] }
                    XCTAssertLessThan(a.relativeError(to: sum), tol, "\(variant) accumulate \(h)×\(w)")
                }
            }
        }
    }

    /// Paper-like channel counts on a 40×36 map (many blocks): Winograd vs im2col + GEMM, with Glorot-scaled
    /// weights and unit-scale inputs as in the network. Records the error the parity budget has to absorb.
    func testWideLayerAgreesWithIm2col() {
        var rng = TestRandom(seed: 72)
        let cin = 96, cout = 96
        let x = rng.tensor(1, 40, 36, cin)
        let limit = (6.0 / Float(9 * (cin + cout))).squareRoot()
        let k = FloatTensor(shape: [3, 3, cin, cout], values: rng.values(9 * cin * cout).map { $0 * limit })
        GEMM.setThreads(1)
        let ref = Conv2D.forward(x, kernel: k, algorithm: .im2colGEMM, threads: 2)
        let direct = Naive.conv(x, kernel: k, bias: nil, stride: 1)
        let im2colError = ref.relativeError(to: direct)
        for variant in WinogradVariant.allCases {
            let y = run(variant, x: x, kernel: k, bias: nil, epilogue: .none, threads: 2, blockTiles: 17)
            let e = y.relativeError(to: direct)
            print("Winograd \(variant) 96→96 max error / max|ref| vs direct: \(e) (im2col: \(im2colError))")
            XCTAssertLessThan(e, variant == .f2x2 ? 2e-6 : 2e-5)
        }
    }

    /// The allocating `Conv2D.forward` (what the trainer calls) takes the Winograd path for 3×3 stride 1 and
    /// agrees with im2col, including with multi-threaded OpenBLAS (the path lowers it to 1 and restores it).
    func testAllocatingForwardUsesWinogradAndRestoresBLASThreads() {
        var rng = TestRandom(seed: 73)
        let x = rng.tensor(3, 9, 14, 16)
        let k = FloatTensor(shape: [3, 3, 16, 8], values: rng.values(9 * 16 * 8))
        GEMM.setThreads(2)
        let direct = Naive.conv(x, kernel: k, bias: [0.5, -1, 0, 0, 1, 2, 3, 4], stride: 1)
        for algorithm in [ConvolutionAlgorithm.winogradF2x2, .winogradF4x4, .automatic] {
            let y = Conv2D.forward(x, kernel: k, bias: [0.5, -1, 0, 0, 1, 2, 3, 4], algorithm: algorithm, threads: 2)
            XCTAssertLessThan(y.relativeError(to: direct), algorithm == .winogradF2x2 ? 2e-6 : 1e-5, "\(algorithm)")
            XCTAssertEqual(GEMM.threads, 2)
        }
    }
}
