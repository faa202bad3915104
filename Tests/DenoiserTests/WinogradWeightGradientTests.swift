import CheckpointImport
@testable import Denoiser
import XCTest

/// `WinogradWeightGradient` against the definition of the weight gradient written as direct loops in double:
/// dW[a, b, i, o] = Σ_(n,y,x) X[n, y + a − 1, x + b − 1, i] · dY[n, y, x, o] (zero outside the image).
final class WinogradWeightGradientTests: XCTestCase {
    override func tearDown() { GEMM.setThreads(Parallel.processorCount) }

    static func directWeightGradient(_ x: Tensor, _ dy: Tensor) -> [Double] {
        let cin = x.shape.channels, cout = dy.shape.channels, h = x.shape.height, w = x.shape.width
        var dw = [Double](repeating: 0, count: 9 * cin * cout)
        for n in 0..<x.shape.batch {
            for y in 0..<h {
                for xx in 0..<w {
                    for a in 0..<3 {
                        for b in 0..<3 {
                            let sy = y + a - 1, sx = xx + b - 1
                            guard sy >= 0, sy < h, sx >= 0, sx < w else { continue }
                            for i in 0..<cin {
                                let xv = Double(x[n, sy, sx, i])
                                let row = ((a * 3 + b) * cin + i) * cout
                                for o in 0..<cout { dw[row + o] += xv * Double(dy[n, y, xx, o]) }
                            }
                        }
                    }
                }
            }
        }
        return dw
    }

    static func run(_ variant: WinogradVariant, x: Tensor, dy: Tensor, initial: [Float], threads: Int, blockTiles: Int,
                    partition: WinogradWeightGradient.Partition) -> [Float] {
        let g = ConvolutionGeometry(batch: x.shape.batch, height: x.shape.height, width: x.shape.width,
                                    inputChannels: x.shape.channels, outputChannels: dy.shape.channels, kernelSize: 3)
        var dw = initial
        let scratch = AlignedBuffer(count: WinogradWeightGradient.scratchCount(
            g, variant: variant, workers: threads, blockTiles: blockTiles, partition: partition))
        // Garbage in the scratch must not leak into the result (the first block of each worker overwrites dU).
        scratch.buffer.update(repeating: .nan)
        x.values.withUnsafeBufferPointer { xp in
            dy.values.withUnsafeBufferPointer { gp in
                dw.withUnsafeMutableBufferPointer { wp in
                    WinogradWeightGradient.accumulate(g, variant: variant, input: xp.baseAddress!, outputGradient: gp.baseAddress!,
                                                      kernelGradient: wp.baseAddress!, scratch: scratch.buffer,
                                                      threads: threads, blockTiles: blockTiles, partition: partition)
                }
            }
        }
        return dw
    }

    static func relativeL2(_ got: [Float], _ expected: [Double]) -> Double {
        var d = 0.0, r = 0.0
        for (a, b) in zip(got, expected) { d += (Double(a) - b) * (Double(a) - b); r += b * b }
        return (d / max(r, .leastNormalMagnitude)).squareRoot()
    }

    /// Odd sizes (partial tiles at the right/bottom, tiles reaching into the padding on every side, images
    /// smaller than one tile), batch 2, channel counts that are not multiples of 8; one block and many small
    /// blocks; one and two workers; both partitions; accumulating onto a non-zero gradient.
    func testMatchesDirectLoopsOnOddSizes() {
        var rng = TestRandom(seed: 81)
        for (h, w, cin, cout) in [(13, 17, 6, 5), (5, 7, 11, 13), (1, 1, 3, 2), (2, 3, 9, 4), (9, 4, 1, 7)] {
            let x = rng.tensor(2, h, w, cin)
            let dy = rng.tensor(2, h, w, cout)
            let initial = rng.values(9 * cin * cout)
            let direct = Self.directWeightGradient(x, dy)
            for variant in WinogradVariant.allCases {
                for partition in WinogradWeightGradient.Partition.allCases {
                    for (threads, block) in [(1, 256), (2, 3), (2, 1), (2, 256)] {
                        let got = Self.run(variant, x: x, dy: dy, initial: initial, threads: threads, blockTiles: block,
                                           partition: partition)
                        // the increment, so the initial values cannot hide an error
                        let e = Self.relativeL2(zip(got, initial).map { $0 - $1 }, direct)
                        XCTAssertLessThan(e, variant == .f2x2 ? 1e-6 : 1e-5,
                                          "\(variant) \(partition) \(h)×\(w) \(cin)→\(cout) threads \(threads) block \(block)")
                    }
                }
            }
        }
    }

    /// OpenBLAS's process-wide thread count is lowered to 1 for the workers and restored.
    func testRestoresBLASThreads() {
        var rng = TestRandom(seed: 82)
        let x = rng.tensor(1, 8, 8, 4), dy = rng.tensor(1, 8, 8, 4)
        GEMM.setThreads(2)
        _ = Self.run(.f4x4, x: x, dy: dy, initial: [Float](repeating: 0, count: 144), threads: 2, blockTiles: 1, partition: .tiles)
        XCTAssertEqual(GEMM.threads, 2)
    }
}
