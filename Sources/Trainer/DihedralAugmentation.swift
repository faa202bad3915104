/// The 8 symmetries of a square patch as the reference draws them (`augment_patch`, §3.2 step 3): rotate
/// by k·90° counter-clockwise (numpy `rot90` on the two spatial axes), then optionally mirror the last
/// spatial axis (X).
public struct DihedralAugmentation: Sendable, Equatable, CaseIterable {
    public var quarterTurns: Int
    public var flipX: Bool

    public init(quarterTurns: Int, flipX: Bool) {
        self.quarterTurns = ((quarterTurns % 4) + 4) % 4
        self.flipX = flipX
    }

    public static let allCases: [DihedralAugmentation] =
        (0..<4).flatMap { k in [false, true].map { DihedralAugmentation(quarterTurns: k, flipX: $0) } }

    public static func random(using rng: inout TrainingRandom) -> DihedralAugmentation {
        let k = rng.integer(below: 4)
        return DihedralAugmentation(quarterTurns: k, flipX: rng.uniform() < 0.5)
    }

    /// Applies the transform to a square `size × size × channels` (HWC) patch.
    public func apply(_ patch: [Float], size n: Int, channels c: Int) -> [Float] {
        precondition(patch.count == n * n * c)
        if quarterTurns == 0 && !flipX { return patch }
        var out = [Float](repeating: 0, count: patch.count)
        for i in 0..<n {
            for j in 0..<n {
                // Destination (i, j) after the optional flip reads (i, j') of the rotated image …
                let jr = flipX ? n - 1 - j : j
                // … and rot90^k (counter-clockwise) reads out[i, j] = in[j, n−1−i] once, composed k times.
                var si = i, sj = jr
                for _ in 0..<quarterTurns { (si, sj) = (sj, n - 1 - si) }
                let dst = (i * n + j) * c, src = (si * n + sj) * c
                for ch in 0..<c { out[dst + ch] = patch[src + ch] }
            }
        }
        return out
    }
}
