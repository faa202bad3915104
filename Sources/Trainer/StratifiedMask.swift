/// Noise2Void-style stratified masking (`reference-model.md` §3.2 step 4): the patch is tiled with
/// `box × box` cells (row-major, partial cells at the bottom/right edges included) and one uniformly random
/// position is drawn per cell; positions that fall outside the patch are dropped, so edge cells may
/// contribute nothing. Each channel gets its own independent draw.
public enum StratifiedMask {
    /// box = round(sqrt(100 / maskPercent)); the reference's default 0.5 (%) gives 14.
    public static func boxSize(maskPercent: Double) -> Int {
        precondition(maskPercent > 0 && maskPercent <= 100, "mask percentage must be in (0, 100], got \(maskPercent)")
        return Int((100.0 / maskPercent).squareRoot().rounded())
    }

    /// Writes a 0/1 mask for one `height × width × channels` (HWC) patch into `mask` (which must hold
    /// exactly that many values and is overwritten). Returns the number of masked values.
    @discardableResult
    public static func fill(
        _ mask: UnsafeMutableBufferPointer<Float>, height: Int, width: Int, channels: Int,
        box: Int, random: inout TrainingRandom
    ) -> Int {
        precondition(mask.count == height * width * channels)
        for i in mask.indices { mask[i] = 0 }
        let rows = (height + box - 1) / box, cols = (width + box - 1) / box
        var count = 0
        for c in 0..<channels {
            for i in 0..<rows {
                for j in 0..<cols {
                    // (U·box, U·box) floored, as the reference draws both offsets from one uniform each.
                    let dy = Int(random.uniform() * Double(box))
                    let dx = Int(random.uniform() * Double(box))
                    let y = i * box + dy, x = j * box + dx
                    guard y < height, x < width else { continue }
                    mask[(y * width + x) * channels + c] = 1
                    count += 1
                }
            }
        }
        return count
    }
}
