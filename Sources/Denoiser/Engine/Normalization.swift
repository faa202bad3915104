/// The reference's input normalisation (reference-model.md §5.1): per-image z-score with the population
/// standard deviation, and numpy-'reflect' padding to a multiple of 2^depth.
public struct ChannelStatistics: Sendable, Equatable, Codable {
    public var mean: Float
    public var std: Float

    public init(mean: Float, std: Float) {
        self.mean = mean
        self.std = std
    }

    /// Mean and population std of `count` samples starting at `base`, `stride` apart (one channel of an
    /// interleaved image). Accumulated in double and rounded once: numpy's float32 pairwise sums can differ
    /// from this by an ulp, which moves the normalised input by ~1e-7 (far inside the parity tolerances).
    /// A constant image has std 0; the reference would divide by zero and return NaN, we use std = 1
    /// (the output is then the network's response to an all-zero input, de-normalised around the mean).
    public static func measure(_ base: UnsafePointer<Float>, count: Int, stride: Int) -> ChannelStatistics {
        precondition(count > 0)
        var sum = 0.0
        for i in 0..<count { sum += Double(base[i &* stride]) }
        let mean = sum / Double(count)
        var sq = 0.0
        for i in 0..<count {
            let d = Double(base[i &* stride]) - mean
            sq += d * d
        }
        let std = Float((sq / Double(count)).squareRoot())
        return ChannelStatistics(mean: Float(mean), std: std > 0 && std.isFinite ? std : 1)
    }

    /// `(x − mean) / std` as two rounded float32 operations, like the reference.
    @inline(__always)
    public func normalize(_ x: Float) -> Float { (x - mean) / std }

    /// `y · std + mean` (multiply, then add; Swift does not contract this into an FMA).
    @inline(__always)
    public func denormalize(_ y: Float) -> Float { y * std + mean }
}

/// numpy `np.pad(mode='reflect')` index mapping: mirror about the edge pixels without repeating them
/// (…, 2, 1 | 0, 1, 2, …, n−1 | n−2, …), periodic with period 2(n−1) for pads longer than the axis.
public enum ReflectPadding {
    /// Source index in `0..<length` for padded coordinate `i` (may be negative or ≥ length).
    @inline(__always)
    public static func sourceIndex(_ i: Int, length: Int) -> Int {
        if length == 1 { return 0 }
        let period = 2 * (length - 1)
        var j = i % period
        if j < 0 { j += period }
        return j < length ? j : period - j
    }

    /// Padding `(before, after)` that brings `length` to a multiple of `multiple`: total
    /// `(multiple − length mod multiple) mod multiple`, `before = floor(total / 2)`.
    public static func amounts(length: Int, multiple: Int) -> (before: Int, after: Int) {
        let total = (multiple - length % multiple) % multiple
        return (total / 2, total - total / 2)
    }
}
