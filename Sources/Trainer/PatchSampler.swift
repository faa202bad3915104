import Denoiser
import Foundation

/// Draws training batches from a list of image files the way the reference's generator does
/// (`reference-model.md` §3.2): pick an image uniformly (with replacement), crop a `patch × patch` window at
/// a uniform position, apply one of the 8 dihedral symmetries, mask one pixel per 14×14 box per channel, and
/// draw the N(0, σ²) replacement noise.
///
/// Images are read lazily and kept, z-scored, in a small least-recently-used cache bounded in bytes, so a
/// large folder never has to fit in memory (a patch is copied out of its image, never stored).
public final class PatchSampler {
    public let files: [TrainingImageFile]
    public let patchSize: Int
    public let channels: Int
    public let maskBox: Int
    public var random: TrainingRandom
    private let cacheLimitBytes: Int
    private var cache: [Int: FloatImage] = [:]
    private var cacheOrder: [Int] = []
    private var cachedBytes = 0
    /// Images found unusable (too small, unreadable) are skipped from then on.
    public private(set) var rejected: [Int: String] = [:]

    public init(
        files: [TrainingImageFile], patchSize: Int, channels: Int, maskPercent: Double = 0.5,
        seed: UInt64, cacheLimitBytes: Int = 256 << 20
    ) {
        precondition(!files.isEmpty && patchSize > 0)
        self.files = files
        self.patchSize = patchSize
        self.channels = channels
        maskBox = StratifiedMask.boxSize(maskPercent: maskPercent)
        random = TrainingRandom(seed: seed)
        self.cacheLimitBytes = cacheLimitBytes
    }

    /// The normalised image `index` (from the cache or disk).
    public func image(_ index: Int) throws -> FloatImage {
        if let hit = cache[index] {
            if let at = cacheOrder.firstIndex(of: index) { cacheOrder.remove(at: at) }
            cacheOrder.append(index)
            return hit
        }
        let file = files[index]
        let image = try file.load().converted(toChannels: channels, path: file.url.path).standardized()
        guard image.height >= patchSize, image.width >= patchSize else {
            throw TrainingDataError.badImage(
                path: file.url.path, reason: "\(image.height)×\(image.width) is smaller than the \(patchSize)×\(patchSize) patch")
        }
        let bytes = image.pixels.count * 4
        while cachedBytes + bytes > cacheLimitBytes, let oldest = cacheOrder.first {
            cacheOrder.removeFirst()
            cachedBytes -= (cache.removeValue(forKey: oldest)?.pixels.count ?? 0) * 4
        }
        if bytes <= cacheLimitBytes {
            cache[index] = image
            cacheOrder.append(index)
            cachedBytes += bytes
        }
        return image
    }

    /// A uniformly chosen usable image; unusable ones are remembered and skipped (an error only when none is left).
    private func drawImage() throws -> FloatImage {
        while rejected.count < files.count {
            let index = random.integer(below: files.count)
            if rejected[index] != nil { continue }
            do { return try image(index) } catch { rejected[index] = "\(error)" }
        }
        throw TrainingDataError.badImage(
            path: files.first!.url.deletingLastPathComponent().path,
            reason: "no usable training image: " + rejected.values.sorted().prefix(3).joined(separator: "; "))
    }

    /// One batch; `noiseSigma` nil skips drawing the Gaussian replacement (donut masking).
    public func nextBatch(size batchSize: Int, noiseSigma: Float?) throws -> TrainingBatch {
        let n = patchSize, c = channels, patchCount = n * n * c
        var features = [Float](repeating: 0, count: batchSize * patchCount)
        var mask = [Float](repeating: 0, count: batchSize * patchCount)
        var noise: [Float]? = noiseSigma.map { _ in [Float](repeating: 0, count: batchSize * patchCount) }
        for b in 0..<batchSize {
            let image = try drawImage()
            // Reference: crop only when every dimension is larger than the patch, else take the whole image
            // (which then equals the patch size, since smaller images are rejected).
            let top = image.height > n ? random.integer(below: image.height - n + 1) : 0
            let left = image.width > n ? random.integer(below: image.width - n + 1) : 0
            var patch = [Float](repeating: 0, count: patchCount)
            for y in 0..<n {
                let src = ((top + y) * image.width + left) * c
                for i in 0..<(n * c) { patch[y * n * c + i] = image.pixels[src + i] }
            }
            patch = DihedralAugmentation.random(using: &random).apply(patch, size: n, channels: c)
            features.replaceSubrange((b * patchCount)..<((b + 1) * patchCount), with: patch)
            mask.withUnsafeMutableBufferPointer { m in
                let slice = UnsafeMutableBufferPointer(rebasing: m[(b * patchCount)..<((b + 1) * patchCount)])
                StratifiedMask.fill(slice, height: n, width: n, channels: c, box: maskBox, random: &random)
            }
            if let sigma = noiseSigma {
                for i in 0..<patchCount { noise![b * patchCount + i] = sigma * Float(random.gaussian()) }
            }
        }
        return TrainingBatch(batch: batchSize, height: n, width: n, channels: c, features: features, mask: mask, noise: noise)
    }
}
