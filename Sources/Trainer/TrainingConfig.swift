import Denoiser

/// Hyper-parameters of a training run; the defaults are the reference's (`reference-model.md` §3–4).
public struct TrainingConfig: Sendable, Equatable {
    public var loss: LossKind = .noise2Same(lambda: 2)
    public var replacement: MaskReplacement = .defaultGaussian
    public var schedule = LearningRateSchedule()
    public var adam = AdamHyperparameters()
    public var batchNormMomentum: Float = 0.997
    /// TF's fused batch norm clamps ε to at least 1.001e-5 (the layer asks for 1e-5).
    public var batchNormEpsilon: Float = 1.001e-5
    /// Percentage of masked pixels; 0.5 (%) → one pixel per 14×14 box.
    public var maskPercent: Double = 0.5
    /// How the 3×3 stride-1 weight gradients are computed: `.automatic` uses Winograd F(4×4) where the
    /// forward does (≥ 8 input channels) and im2col + GEMM elsewhere; tests force a variant everywhere.
    public var weightGradientAlgorithm: ConvolutionAlgorithm = .automatic

    public init(
        loss: LossKind = .noise2Same(lambda: 2), replacement: MaskReplacement = .defaultGaussian,
        schedule: LearningRateSchedule = LearningRateSchedule()
    ) {
        self.loss = loss
        self.replacement = replacement
        self.schedule = schedule
    }
}

/// One training batch in normalised units, NHWC.
public struct TrainingBatch: Sendable {
    public var batch: Int, height: Int, width: Int, channels: Int
    /// x: the (per-image z-scored) noisy patches.
    public var features: [Float]
    /// m: 1 at masked values.
    public var mask: [Float]
    /// Replacement values for `MaskReplacement.gaussian` (already scaled by σ); unused for the donut.
    public var noise: [Float]?

    public init(batch: Int, height: Int, width: Int, channels: Int, features: [Float], mask: [Float], noise: [Float]? = nil) {
        precondition(features.count == batch * height * width * channels && mask.count == features.count)
        precondition(noise == nil || noise!.count == features.count)
        self.batch = batch
        self.height = height
        self.width = width
        self.channels = channels
        self.features = features
        self.mask = mask
        self.noise = noise
    }
}
