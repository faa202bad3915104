import Denoiser

extension Trainer {
    /// The self-supervised loss of the current model on whole validation images in **eval mode** (batch norm
    /// with moving statistics, no updates), as the reference's `generator_val` + EVAL mode
    /// (`reference-model.md` §3.6): each image is z-scored, centre-cropped to a multiple of 2^(depth−1), masked
    /// with a fresh stratified mask and replacement drawn from `seed` (fixed, so two models are compared on
    /// identical masks), and evaluated with the current loss; the terms are averaged over images.
    /// `maxSize` additionally limits each side to a centred window (a 12-megapixel photo would otherwise
    /// need gigabytes of activations). `loss` scores with another objective than the one being trained
    /// (the fine-tuning gate trains Noise2SamePro but compares models with Noise2Same, see `FineTune`).
    public func validationLoss(
        images: [FloatImage], seed: UInt64 = 0x5EED_7A11, maxSize: Int? = nil, loss: LossKind? = nil
    ) throws -> StepLosses {
        guard !images.isEmpty else { throw TrainerError.invalidBatch("no validation images") }
        var rng = TrainingRandom(seed: seed)
        let multiple = 1 << (architecture.depth - 1)
        let box = StratifiedMask.boxSize(maskPercent: config.maskPercent)
        var sum = StepLosses(reconstruction: 0, invariance: 0, blindSpot: 0, total: 0)
        for original in images {
            let image = try original.converted(toChannels: architecture.inputChannels, path: "validation image").standardized()
            let limit = maxSize ?? Int.max
            let h = min(image.height, limit) / multiple * multiple, w = min(image.width, limit) / multiple * multiple
            guard h > 0, w > 0 else { throw TrainerError.invalidBatch("validation image \(image.height)×\(image.width) too small") }
            let top = (image.height - h) / 2, left = (image.width - w) / 2, c = image.channels
            var x = [Float](repeating: 0, count: h * w * c)
            for y in 0..<h {
                for i in 0..<(w * c) { x[y * w * c + i] = image.pixels[((top + y) * image.width + left) * c + i] }
            }
            var mask = [Float](repeating: 0, count: x.count)
            _ = mask.withUnsafeMutableBufferPointer {
                StratifiedMask.fill($0, height: h, width: w, channels: c, box: box, random: &rng)
            }
            let batch = TrainingBatch(
                batch: 1, height: h, width: w, channels: c, features: x, mask: mask,
                noise: (0..<x.count).map { _ in Float(rng.gaussian()) * self.gaussianSigma })
            let losses = try evaluateInference(batch: batch, loss: loss)
            sum.reconstruction += losses.reconstruction
            sum.invariance += losses.invariance
            sum.blindSpot += losses.blindSpot
            sum.total += losses.total
        }
        let n = Double(images.count)
        return StepLosses(reconstruction: sum.reconstruction / n, invariance: sum.invariance / n,
                          blindSpot: sum.blindSpot / n, total: sum.total / n)
    }

    var gaussianSigma: Float {
        config.replacement.samplerNoiseSigma ?? MaskReplacement.defaultGaussianSigma
    }
}
