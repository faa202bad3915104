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
    /// interleaved image), computed as numpy does for float32 (`img.mean()`, `img.std()`): float32
    /// pairwise sums (`pairwiseSum`), `sum / n` in float32, deviations and squares in float32, `sqrt`.
    /// This reproduces the fixtures' mean/std bit patterns exactly (all three images).
    /// A constant image has std 0; the reference would divide by zero and return NaN, we use std = 1
    /// (the output is then the network's response to an all-zero input, de-normalised around the mean).
    public static func measure(_ base: UnsafePointer<Float>, count: Int, stride: Int) -> ChannelStatistics {
        precondition(count > 0)
        let n = Float(count)
        let mean = pairwiseSum(count: count) { base[$0 &* stride] } / n
        let variance = pairwiseSum(count: count) { i in
            let d = base[i &* stride] - mean
            return d * d
        } / n
        let std = variance.squareRoot()
        return ChannelStatistics(mean: mean, std: std > 0 && std.isFinite ? std : 1)
    }

    /// numpy's float32 `pairwise_sum` (numpy/core/src/umath/loops_utils.h): fewer than 8 values are added
    /// in order; up to 128 are summed in 8 interleaved accumulators combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))
    /// plus the tail in order; longer runs split at n/2 rounded down to a multiple of 8 and recurse.
    /// (numpy adds this to the reduction's initial 0, which changes nothing.)
    static func pairwiseSum(count: Int, _ value: (Int) -> Float) -> Float {
        func sum(_ start: Int, _ n: Int) -> Float {
            if n < 8 {
                var r: Float = 0
                for i in 0..<n { r += value(start &+ i) }
                return r
            }
            if n <= 128 {
                var r0 = value(start), r1 = value(start + 1), r2 = value(start + 2), r3 = value(start + 3)
                var r4 = value(start + 4), r5 = value(start + 5), r6 = value(start + 6), r7 = value(start + 7)
                var i = 8
                while i < n - n % 8 {
                    let p = start &+ i
                    r0 += value(p); r1 += value(p + 1); r2 += value(p + 2); r3 += value(p + 3)
                    r4 += value(p + 4); r5 += value(p + 5); r6 += value(p + 6); r7 += value(p + 7)
                    i += 8
                }
                var res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
                while i < n {
                    res += value(start &+ i)
                    i += 1
                }
                return res
            }
            var half = n / 2
            half -= half % 8
            return sum(start, half) + sum(start + half, n - half)
        }
        return sum(0, count)
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
