import CheckpointImport

/// How far (in input pixels) an output pixel of the U-Net looks, derived from the layer list.
///
/// Derivation (1-D; the network is separable in its extents). Walk backwards from an output pixel range
/// [a, b] at level 1 and track, for every tensor, the index range the output depends on:
///   • out_conv 1×1, batch norm, ReLU, add: same range.
///   • a residual block: its two 3×3 convolutions widen the range by 1 each → [a−2, b+2]
///     (the shortcut, identity or 1×1, needs only [a, b] ⊂ that).
///   • concat: the same range on both the upsampled tensor and the skip (the encoder output of that level).
///   • transposed conv 2×2/2: output p comes from input ⌊p/2⌋ → [⌊a/2⌋, ⌊b/2⌋] one level down.
///   • downsampling conv 2×2/2 ('same', no padding on the even sizes the engine runs): output i reads
///     inputs 2i and 2i+1 → [2a, 2b+1] one level up.
///   • first 3×3 convolution: [a−1, b+1].
/// The encoder output of a level is needed for the union of the skip range and what the next level down
/// needs. Because tiles start at multiples of 2^depth, the stride-2 grids of a tile coincide with the whole
/// image's, so the result depends only on a mod 2^depth; the margin is the maximum over those residues
/// and both sides. If every tile interior pixel has ≥ margin real (or whole-image-border) pixels around it,
/// no zero padding at a tile edge reaches it, and the tiled result equals the whole-image result.
/// Paper/small configuration (depth 3, blocks [1,1,0] / bottom 1 / [1,1]), output range [a, b]:
///   decoder L1 block → [a−2, b+2]; tconv → level 2 ≈ [a/2−1, b/2+1]; block → [a/2−3, b/2+3];
///   tconv → level 3 ≈ [a/4−2, b/4+1]; bottom block → [a/4−4, b/4+3]; downsample → level 2
///   [a/2−8, b/2+7] (∪ skip); encoder L2 block → [a/2−10, b/2+9]; downsample → level 1 [a−20, b+19];
///   encoder L1 block → [a−22, b+21]; first conv → [a−23, b+22]; the worst residue mod 8 adds one: **24 px**
///   (the spec's "≈46×46" receptive field). `TilingTests` perturbs single pixels and observes exactly 24.
public enum ReceptiveField {
    public static func margin(_ arch: ModelArchitecture) -> Int {
        var worst = 0
        for a in 0..<(1 << arch.depth) {
            let base = 1 << 20  // far from any border so no clamping interferes
            let (lo, hi) = inputRange(arch, output: (base + a, base + a))
            worst = max(worst, base + a - lo, hi - (base + a))
        }
        return worst
    }

    /// The input range the output range `output` (level 1) depends on.
    static func inputRange(_ arch: ModelArchitecture, output: (Int, Int)) -> (Int, Int) {
        typealias R = (lo: Int, hi: Int)
        func widen(_ r: R, _ by: Int) -> R { (r.lo - by, r.hi + by) }
        func union(_ a: R?, _ b: R) -> R { a.map { (min($0.lo, b.lo), max($0.hi, b.hi)) } ?? b }
        let depth = arch.depth
        var encoderNeed = [R?](repeating: nil, count: depth + 1)  // range of encoder output per level
        // decoder, from level 1 down to depth−1: range on the decoder output of level L
        var r: R = output
        if depth > 1 {
            for level in 1..<depth {
                let concat = widen(r, 2 * arch.decodingBlockSizes[level - 1])
                encoderNeed[level] = union(encoderNeed[level], concat)       // skip
                r = (concat.lo >> 1, concat.hi >> 1)                        // transposed conv input
            }
        }
        // bottom blocks run on the deepest encoder output
        encoderNeed[depth] = union(encoderNeed[depth], widen(r, 2 * arch.bottomBlockSize))
        // encoder, deepest first
        var input: R = (0, 0)
        for level in stride(from: depth, through: 1, by: -1) {
            let beforeBlocks = widen(encoderNeed[level]!, 2 * arch.encodingBlockSizes[level - 1])
            if level > 1 {
                encoderNeed[level - 1] = union(encoderNeed[level - 1], (2 * beforeBlocks.lo, 2 * beforeBlocks.hi + 1))
            } else {
                input = widen(beforeBlocks, 1)
            }
        }
        return input
    }
}
