/// What replaces the masked pixels in the blind-spot (masked) forward pass (`reference-model.md` §3.3).
public enum MaskReplacement: Sendable, Equatable, CustomStringConvertible {
    /// N(0, σ²) noise in normalised units (the reference default, σ = 0.2).
    case gaussian(sigma: Float)
    /// The 3×3 donut average [[.5,1,.5],[1,0,1],[.5,1,.5]]/6 with zero padding (BSD68 notebook).
    case donut

    public static let defaultGaussianSigma: Float = 0.2
    public static let defaultGaussian = MaskReplacement.gaussian(sigma: defaultGaussianSigma)

    /// The replacement a model was trained with (`training.masking` metadata written by `n2sp train`), so that
    /// fine-tuning continues with the same blind-spot input the network learned; models without the entry
    /// (imported TF checkpoints) get the reference default, Gaussian σ 0.2.
    public static func trainedWith(_ metadata: [String: String]) -> MaskReplacement {
        named(metadata["training.masking"] ?? "gaussian")
    }

    /// The replacement a `TrainingPlan.masking` name stands for ("donut"; anything else: Gaussian σ 0.2).
    public static func named(_ masking: String) -> MaskReplacement {
        masking == "donut" ? .donut : .defaultGaussian
    }

    /// The σ a patch sampler draws replacement noise with (nil: donut needs none).
    public var samplerNoiseSigma: Float? {
        if case .gaussian(let sigma) = self { return sigma }
        return nil
    }

    public var description: String {
        switch self {
        case .gaussian(let sigma): "gaussian(σ \(sigma))"
        case .donut: "donut"
        }
    }

    /// The donut average of `x` (NHWC, per channel, SAME zero padding). The weights are *not* renormalised at
    /// the borders (padding zeros count), exactly like the reference's `conv2d(..., 'SAME')`, so border
    /// replacements shrink toward 0.
    public static func donut(
        _ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
        batch: Int, height: Int, width: Int, channels: Int
    ) {
        precondition(x.count == batch * height * width * channels && out.count == x.count)
        // kernel[ky][kx]; the centre tap is zero.
        let kernel: [Float] = [0.5, 1, 0.5, 1, 0, 1, 0.5, 1, 0.5].map { $0 / 6 }
        for n in 0..<batch {
            let base = n &* height &* width &* channels
            for y in 0..<height {
                for xPos in 0..<width {
                    for c in 0..<channels {
                        var sum: Float = 0
                        for ky in 0..<3 {
                            let yy = y &+ ky &- 1
                            if yy < 0 || yy >= height { continue }
                            for kx in 0..<3 {
                                let xx = xPos &+ kx &- 1
                                if xx < 0 || xx >= width { continue }
                                let w = kernel[ky &* 3 &+ kx]
                                if w == 0 { continue }
                                sum += w * x[base &+ (yy &* width &+ xx) &* channels &+ c]
                            }
                        }
                        out[base &+ (y &* width &+ xPos) &* channels &+ c] = sum
                    }
                }
            }
        }
    }

    /// x_m = (1 − m)·x + m·r: the masked pass's input.
    public static func apply(
        features x: [Float], mask m: [Float], replacement r: [Float]
    ) -> [Float] {
        precondition(x.count == m.count && x.count == r.count)
        var out = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count { out[i] = (1 - m[i]) * x[i] + m[i] * r[i] }
        return out
    }
}
