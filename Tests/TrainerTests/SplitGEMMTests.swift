import Denoiser
@testable import Trainer
import XCTest

/// `SplitGEMM` against one unsplit OpenBLAS call, for every transpose combination, both split directions,
/// extents that do not divide into 16-wide parts, and β = 0 / 1.
final class SplitGEMMTests: XCTestCase {
    override func tearDown() { GEMM.setThreads(Parallel.processorCount) }

    func testSplitMatchesOneCall() {
        GEMM.setThreads(1)  // the split only happens with single-threaded OpenBLAS (as inside a training step)
        var state: UInt64 = 5
        func random(_ n: Int) -> [Float] {
            (0..<n).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(state >> 40) / Float(1 << 24) - 0.5
            }
        }
        for (m, n, k) in [(131, 77, 103), (40, 300, 97), (4100, 20, 30)] {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let a = random(m * k), b = random(k * n), start = random(m * n)
                    let lda = transposeA ? m : k, ldb = transposeB ? k : n
                    for beta: Float in [0, 1] {
                        var expected = start, got = start
                        a.withUnsafeBufferPointer { ap in
                            b.withUnsafeBufferPointer { bp in
                                expected.withUnsafeMutableBufferPointer { cp in
                                    GEMM.multiply(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, transposeA: transposeA,
                                                  b: bp.baseAddress!, ldb: ldb, transposeB: transposeB,
                                                  c: cp.baseAddress!, ldc: n, beta: beta)
                                }
                                for split in [SplitGEMM.Split.rows, .columns] {
                                    got = start
                                    got.withUnsafeMutableBufferPointer { cp in
                                        SplitGEMM.multiply(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, transposeA: transposeA,
                                                           b: bp.baseAddress!, ldb: ldb, transposeB: transposeB,
                                                           c: cp.baseAddress!, ldc: n, beta: beta, split: split, threads: 2)
                                    }
                                    var worst: Float = 0
                                    for i in 0..<(m * n) { worst = max(worst, abs(got[i] - expected[i])) }
                                    XCTAssertLessThanOrEqual(worst, 1e-4, "\(m)×\(n)×\(k) tA \(transposeA) tB \(transposeB) β \(beta) \(split)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
