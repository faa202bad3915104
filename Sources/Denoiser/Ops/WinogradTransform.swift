/// Winograd minimal filtering F(m×m, 3×3) (Lavin & Gray 2016): an output tile of m×m pixels is
/// `Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A` for a (m+2)×(m+2) input tile `d` and a 3×3 filter `g`. Per output pixel
/// and channel pair that is (m+2)²/m² multiplies instead of 9: 4 for F(2×2) (2.25× fewer), 2.25 for F(4×4)
/// (4× fewer). The element-wise products summed over input channels become (m+2)² independent GEMMs.
///
/// The matrices use the interpolation points {0, ±1, ∞} (F(2)) and {0, ±1, ±2, ∞} (F(4)); the F(4)
/// transforms have coefficients up to 8, which costs about one decimal digit of float32 accuracy
/// (measured in `WinogradTests`, reported in BENCHMARKS.md). F(6×6) is not offered: its points ±1/2, ±3
/// push the error towards the parity tolerance.
public enum WinogradVariant: Int, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case f2x2 = 2
    case f4x4 = 4

    /// m: output tile side.
    public var outputTile: Int { rawValue }
    /// m + 2: input tile side, and the number of transform coordinates per axis.
    public var inputTile: Int { rawValue + 2 }
    public var description: String { "F(\(rawValue)×\(rawValue),3×3)" }

    /// Bᵀ, T×T row-major.
    var inputMatrix: [Float] {
        switch self {
        case .f2x2:
            [1, 0, -1, 0,
             0, 1, 1, 0,
             0, -1, 1, 0,
             0, 1, 0, -1]
        case .f4x4:
            [4, 0, -5, 0, 1, 0,
             0, -4, -4, 1, 1, 0,
             0, 4, -4, -1, 1, 0,
             0, -2, -1, 2, 1, 0,
             0, 2, -1, -2, 1, 0,
             0, 4, 0, -5, 0, 1]
        }
    }

    /// G, T×3 row-major (in Double: the weight transform runs once per kernel).
    var filterMatrix: [Double] {
        switch self {
        case .f2x2:
            [1, 0, 0,
             0.5, 0.5, 0.5,
             0.5, -0.5, 0.5,
             0, 0, 1]
        case .f4x4:
            [1.0 / 4, 0, 0,
             -1.0 / 6, -1.0 / 6, -1.0 / 6,
             -1.0 / 6, 1.0 / 6, -1.0 / 6,
             1.0 / 24, 1.0 / 12, 1.0 / 6,
             1.0 / 24, -1.0 / 12, 1.0 / 6,
             0, 0, 1]
        }
    }

    /// Aᵀ, m×T row-major.
    var outputMatrix: [Float] {
        switch self {
        case .f2x2:
            [1, 1, 1, 0,
             0, 1, -1, -1]
        case .f4x4:
            [1, 1, 1, 1, 1, 0,
             0, 1, -1, 2, -2, 0,
             0, 1, 1, 4, 4, 0,
             0, 1, -1, 8, -8, 1]
        }
    }
}

/// A 3×3 kernel in the Winograd domain: `U[ξ][ci][co]` for the T² transform coordinates ξ = (i, j),
/// i.e. T² `[Cin, Cout]` matrices — the B operands of the batched GEMMs, stored packed for `WinogradGEMM`.
/// Computed once per kernel (the engine caches it per layer; the trainer per call, which costs one small
/// GEMM and one copy).
public final class WinogradKernel: @unchecked Sendable {
    // @unchecked: immutable after init.
    public let variant: WinogradVariant
    public let inputChannels: Int
    public let outputChannels: Int
    /// Cout rounded up to whole 16-column panels (the row stride of the GEMM results `M[ξ]`).
    let paddedOutputChannels: Int
    /// U[ξ] packed for `WinogradGEMM`: per ξ, Cout/16 panels of `[Cin][16]` (zero columns past Cout).
    /// Built once here so the per-block GEMMs never re-pack the kernel. (The row-major `[Cin, Cout]` form is
    /// only an intermediate: keeping it as well cost 66 MiB of RSS for the paper model.)
    let panels: AlignedBuffer

    /// - Parameter kernel: HWIO `[3, 3, Cin, Cout]`, row-major.
    public init(variant: WinogradVariant, kernel: UnsafePointer<Float>, inputChannels: Int, outputChannels: Int) {
        self.variant = variant
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        let t = variant.inputTile, t2 = t * t
        // U[(i,j)] = Σ_(a,b) G[i,a]·G[j,b]·g[a,b]: the (T²×9) Kronecker matrix G⊗G applied to the 9 taps of
        // every (ci, co). Its coefficients are exact in float for F(2) and rounded (1/6, 1/24) for F(4).
        let g = variant.filterMatrix
        var kron = [Float](repeating: 0, count: t2 * 9)
        for i in 0..<t { for j in 0..<t { for a in 0..<3 { for b in 0..<3 {
            kron[(i * t + j) * 9 + a * 3 + b] = Float(g[i * 3 + a] * g[j * 3 + b])
        } } } }
        let width = WinogradGEMM.panelWidth
        let paddedOutputChannels = (outputChannels + width - 1) / width * width
        self.paddedOutputChannels = paddedOutputChannels
        let panelCount = paddedOutputChannels / width
        let panels = AlignedBuffer(count: t2 * inputChannels * paddedOutputChannels)
        self.panels = panels
        // Written straight into the panel layout, one (ci, 16-column panel) at a time: its 9 taps (zero
        // columns past Cout) are read once and combined for all T² coordinates. (As one GEMM into a
        // row-major U followed by a packing copy, this cost a 36·Cin·Cout temporary, a memset and a copy on
        // every call of the trainer's allocating `Conv2D.forward`.)
        let planeStride = inputChannels * paddedOutputChannels
        kron.withUnsafeBufferPointer { kp in
            let kr = kp.baseAddress!
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 9 * width) { tapBuffer in
                let taps = tapBuffer.baseAddress!
                for ci in 0..<inputChannels {
                    for p in 0..<panelCount {
                        let columns = min(width, outputChannels - p * width)
                        for a in 0..<9 {
                            let src = kernel + (a * inputChannels + ci) * outputChannels + p * width
                            (taps + a * width).update(from: src, count: columns)
                            if columns < width { (taps + a * width + columns).update(repeating: 0, count: width - columns) }
                        }
                        let dst = panels.pointer + (p * inputChannels + ci) * width
                        for xi in 0..<t2 {
                            let c = kr + xi * 9
                            var lo = SIMD8<Float>(), hi = SIMD8<Float>()
                            for a in 0..<9 {
                                let w = SIMD8<Float>(repeating: c[a])
                                lo = lo.addingProduct(w, WinogradGEMM.load(taps + a * width))
                                hi = hi.addingProduct(w, WinogradGEMM.load(taps + a * width + 8))
                            }
                            WinogradGEMM.store(lo, dst + xi * planeStride)
                            WinogradGEMM.store(hi, dst + xi * planeStride + 8)
                        }
                    }
                }
            }
        }
    }

    public static func make(variant: WinogradVariant, kernel: [Float], inputChannels: Int, outputChannels: Int) -> WinogradKernel {
        precondition(kernel.count == 9 * inputChannels * outputChannels, "Winograd kernel must be [3, 3, Cin, Cout]")
        return kernel.withUnsafeBufferPointer {
            WinogradKernel(variant: variant, kernel: $0.baseAddress!, inputChannels: inputChannels, outputChannels: outputChannels)
        }
    }

    /// The ξ-th matrix as `paddedOutputChannels / 16` consecutive packed panels.
    @inline(__always)
    func panels(_ xi: Int) -> UnsafePointer<Float> {
        UnsafePointer(panels.pointer + xi &* inputChannels &* paddedOutputChannels)
    }

}

/// A sparse row-major transform matrix: per row, the nonzero (column, coefficient) pairs. The transforms are
/// applied as sums of scaled channel vectors (NHWC keeps a pixel's channels contiguous), so each term is one
/// vectorised pass over the channels and zeros cost nothing. Immutable, allocated once per variant.
final class WinogradTerms: @unchecked Sendable {
    let index: UnsafeMutablePointer<Int>
    let coefficient: UnsafeMutablePointer<Float>
    let counts: UnsafeMutablePointer<Int>
    let width: Int

    init(matrix: [Float], rows: Int, columns: Int) {
        index = .allocate(capacity: rows * columns)
        coefficient = .allocate(capacity: rows * columns)
        counts = .allocate(capacity: rows)
        width = columns
        for r in 0..<rows {
            counts[r] = 0
            for c in 0..<columns where matrix[r * columns + c] != 0 {
                index[r * columns + counts[r]] = c
                coefficient[r * columns + counts[r]] = matrix[r * columns + c]
                counts[r] += 1
            }
        }
    }

    static let input2 = WinogradTerms(matrix: WinogradVariant.f2x2.inputMatrix, rows: 4, columns: 4)
    static let output2 = WinogradTerms(matrix: WinogradVariant.f2x2.outputMatrix, rows: 2, columns: 4)
    static let input4 = WinogradTerms(matrix: WinogradVariant.f4x4.inputMatrix, rows: 6, columns: 6)
    static let output4 = WinogradTerms(matrix: WinogradVariant.f4x4.outputMatrix, rows: 4, columns: 6)

    /// `out[0..<count] = Σ_t coefficient[row, t] · sources[index[row, t]][0..<count]`.
    @inline(__always)
    func combine(row: Int, sources: UnsafePointer<UnsafePointer<Float>>, into out: UnsafeMutablePointer<Float>, count: Int) {
        let base = row &* width
        let n = counts[row]
        let s0 = sources[index[base]], a0 = coefficient[base]
        if n >= 2 {
            // first two terms in one pass (every row of these matrices has at least two)
            let s1 = sources[index[base &+ 1]], a1 = coefficient[base &+ 1]
            for c in 0..<count { out[c] = a0 * s0[c] + a1 * s1[c] }
        } else {
            for c in 0..<count { out[c] = a0 * s0[c] }
        }
        var t = 2
        while t &+ 1 < n {
            let s1 = sources[index[base &+ t]], a1 = coefficient[base &+ t]
            let s2 = sources[index[base &+ t &+ 1]], a2 = coefficient[base &+ t &+ 1]
            for c in 0..<count { out[c] += a1 * s1[c] + a2 * s2[c] }
            t &+= 2
        }
        if t < n {
            let s1 = sources[index[base &+ t]], a1 = coefficient[base &+ t]
            for c in 0..<count { out[c] += a1 * s1[c] }
        }
    }
}

extension WinogradVariant {
    var inputTerms: WinogradTerms { self == .f2x2 ? .input2 : .input4 }
    var outputTerms: WinogradTerms { self == .f2x2 ? .output2 : .output4 }
}

/// The F(4×4,3×3) transforms written out with shared sub-expressions: one pass over the channels computes all
/// outputs of a 1-D transform from its 6 inputs (the generic `WinogradTerms.combine` needs one pass per output
/// row, re-reading its inputs). Same matrices as `WinogradVariant.f4x4`; only the summation order differs.
enum WinogradF4 {
    // Explicit 8-float vectors (one AVX2 register): as plain scalar loops over six source and up to six
    // destination pointers, the auto-vectoriser guarded every call with 36 runtime overlap checks, which
    // loaded the just-written pointer tables as vectors (a store-forwarding stall per call; ~6 % of the
    // transform samples sat on one such instruction) and ran the short channel loops (96 floats) partly
    // in its scalar remainder. Same formulas and summation order as before; a scalar tail handles C mod 8.
    typealias V = SIMD8<Float>

    @inline(__always) private static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }
    @inline(__always) private static func load(_ p: UnsafeMutablePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }
    @inline(__always) private static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// `d[i] = Σ_k Bᵀ[i,k]·s[k]`, i, k in 0..<6.
    @inline(__always)
    static func input(_ s: UnsafePointer<UnsafePointer<Float>>, _ d: UnsafePointer<UnsafeMutablePointer<Float>>, count: Int) {
        let s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5]
        let d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3], d4 = d[4], d5 = d[5]
        var c = 0
        while c &+ 8 <= count {
            let x0 = load(s0 + c), x1 = load(s1 + c), x2 = load(s2 + c)
            let x3 = load(s3 + c), x4 = load(s4 + c), x5 = load(s5 + c)
            let a = x4 - 4 * x2, b = x3 - 4 * x1
            let e = x4 - x2, f = 2 * (x3 - x1)
            store(4 * x0 - 5 * x2 + x4, d0 + c)
            store(a + b, d1 + c)
            store(a - b, d2 + c)
            store(e + f, d3 + c)
            store(e - f, d4 + c)
            store(4 * x1 - 5 * x3 + x5, d5 + c)
            c &+= 8
        }
        while c < count {
            let x0 = s0[c], x1 = s1[c], x2 = s2[c], x3 = s3[c], x4 = s4[c], x5 = s5[c]
            let a = x4 - 4 * x2, b = x3 - 4 * x1
            let e = x4 - x2, f = 2 * (x3 - x1)
            d0[c] = 4 * x0 - 5 * x2 + x4
            d1[c] = a + b
            d2[c] = a - b
            d3[c] = e + f
            d4[c] = e - f
            d5[c] = 4 * x1 - 5 * x3 + x5
            c &+= 1
        }
    }

    /// `d[r] = Σ_k Aᵀ[r,k]·s[k]`, r in 0..<4, k in 0..<6.
    @inline(__always)
    static func output(_ s: UnsafePointer<UnsafePointer<Float>>, _ d: UnsafePointer<UnsafeMutablePointer<Float>>, count: Int) {
        let s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5]
        let d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3]
        var c = 0
        while c &+ 8 <= count {
            let x1 = load(s1 + c), x2 = load(s2 + c), x3 = load(s3 + c), x4 = load(s4 + c)
            let p = x1 + x2, q = x1 - x2, r = x3 + x4, u = x3 - x4
            store(load(s0 + c) + p + r, d0 + c)
            store(q + 2 * u, d1 + c)
            store(p + 4 * r, d2 + c)
            store(q + 8 * u + load(s5 + c), d3 + c)
            c &+= 8
        }
        while c < count {
            let x1 = s1[c], x2 = s2[c], x3 = s3[c], x4 = s4[c]
            let p = x1 + x2, q = x1 - x2, r = x3 + x4, u = x3 - x4
            d0[c] = s0[c] + p + r
            d1[c] = q + 2 * u
            d2[c] = p + 4 * r
            d3[c] = q + 8 * u + s5[c]
            c &+= 1
        }
    }

    /// `output` followed by the convolution epilogue, written straight into the 4 output pixels `d[c]`:
    /// `d[c] = [relu]((accumulate ? d[c] : 0) + y[c] + bias)`. Saves the store pass over a staging row.
    @inline(__always)
    static func outputStore(_ s: UnsafePointer<UnsafePointer<Float>>, _ d: UnsafePointer<UnsafeMutablePointer<Float>>,
                            bias: UnsafePointer<Float>, count: Int, accumulate: Bool, relu: Bool) {
        let s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5]
        let d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3]
        let zero = V()
        @inline(__always) func finish(_ y: V, _ p: UnsafeMutablePointer<Float>) {
            var v = accumulate ? y + load(p) : y
            if relu { v = v.replacing(with: zero, where: v .< zero) }  // vmaxps; pointwiseMax was an out-of-line call
            store(v, p)
        }
        @inline(__always) func finish(_ y: Float, _ p: UnsafeMutablePointer<Float>) {
            var v = accumulate ? y + p.pointee : y
            if relu { v = max(v, 0) }
            p.pointee = v
        }
        var c = 0
        while c &+ 8 <= count {
            let x1 = load(s1 + c), x2 = load(s2 + c), x3 = load(s3 + c), x4 = load(s4 + c), b = load(bias + c)
            let p = x1 + x2, q = x1 - x2, r = x3 + x4, u = x3 - x4
            finish(load(s0 + c) + p + r + b, d0 + c)
            finish(q + 2 * u + b, d1 + c)
            finish(p + 4 * r + b, d2 + c)
            finish(q + 8 * u + load(s5 + c) + b, d3 + c)
            c &+= 8
        }
        while c < count {
            let x1 = s1[c], x2 = s2[c], x3 = s3[c], x4 = s4[c], b = bias[c]
            let p = x1 + x2, q = x1 - x2, r = x3 + x4, u = x3 - x4
            finish(s0[c] + p + r + b, d0 + c)
            finish(q + 2 * u + b, d1 + c)
            finish(p + 4 * r + b, d2 + c)
            finish(q + 8 * u + s5[c] + b, d3 + c)
            c &+= 1
        }
    }
}
