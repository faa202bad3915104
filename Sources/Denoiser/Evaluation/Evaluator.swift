import Foundation

/// Scores of one denoised test image (PSNR conventions: `ImageQuality`).
public struct ImageScore: Sendable, Codable, Equatable {
    public var name: String
    public var height: Int
    public var width: Int
    /// Unclipped float output against the clean image (the reference protocol, psnr.py default).
    public var psnr: Double
    /// Output clipped and rounded to 8 bits (what a saved PNG scores; psnr.py --quantize).
    public var psnr8bit: Double
    /// Gaussian SSIM of the unclipped output (11×11, σ 1.5, range 255).
    public var ssim: Double
    /// The noisy input itself, unclipped (the "noisy input" anchor).
    public var noisyPSNR: Double
    /// Wall time of `InferenceEngine.predict` for this image.
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case name, height, width, psnr, ssim, seconds
        case psnr8bit = "psnr_8bit"
        case noisyPSNR = "noisy_psnr"
    }
}

/// Means over a set (the mean of per-image values, as psnr.py and the papers report).
public struct SetScore: Sendable, Codable, Equatable {
    public var images: [ImageScore]
    public var meanPSNR: Double
    public var meanPSNR8bit: Double
    public var meanSSIM: Double
    public var meanNoisyPSNR: Double
    public var totalSeconds: Double

    public init(images: [ImageScore]) {
        self.images = images
        let n = Double(max(images.count, 1))
        meanPSNR = images.map(\.psnr).reduce(0, +) / n
        meanPSNR8bit = images.map(\.psnr8bit).reduce(0, +) / n
        meanSSIM = images.map(\.ssim).reduce(0, +) / n
        meanNoisyPSNR = images.map(\.noisyPSNR).reduce(0, +) / n
        totalSeconds = images.map(\.seconds).reduce(0, +)
    }

    enum CodingKeys: String, CodingKey {
        case images
        case meanPSNR = "mean_psnr"
        case meanPSNR8bit = "mean_psnr_8bit"
        case meanSSIM = "mean_ssim"
        case meanNoisyPSNR = "mean_noisy_psnr"
        case totalSeconds = "total_seconds"
    }
}

/// A loaded test pair.
public struct EvaluationImage: Sendable {
    public var name: String
    public var noisy: FloatImage
    public var clean: FloatImage

    public init(name: String, noisy: FloatImage, clean: FloatImage) {
        self.name = name
        self.noisy = noisy
        self.clean = clean
    }
}

/// Denoises every test image with an engine and scores it against its clean reference.
public enum Evaluator {
    public static func load(_ pairs: [EvaluationPair]) throws -> [EvaluationImage] {
        try pairs.map { pair in
            let (noisy, clean) = try pair.load()
            return EvaluationImage(name: pair.name, noisy: noisy, clean: clean)
        }
    }

    /// - Parameters:
    ///   - keepOutputs: called with each denoised image (for writing it out), if given.
    ///   - progress: called after each image with its score.
    public static func evaluate(
        _ images: [EvaluationImage], engine: InferenceEngine,
        output: ((EvaluationImage, FloatImage) throws -> Void)? = nil,
        progress: (ImageScore) -> Void = { _ in }
    ) throws -> SetScore {
        let ssim = SSIM()
        var scores: [ImageScore] = []
        for image in images {
            let (denoised, report) = try engine.predictReporting(image.noisy)
            try output?(image, denoised)
            let score = ImageScore(
                name: image.name, height: image.noisy.height, width: image.noisy.width,
                psnr: ImageQuality.psnr(denoised, image.clean),
                psnr8bit: ImageQuality.psnr(denoised, image.clean, conditioning: .quantized),
                ssim: ssim(denoised, image.clean),
                noisyPSNR: ImageQuality.psnr(image.noisy, image.clean),
                seconds: report.seconds)
            scores.append(score)
            progress(score)
        }
        return SetScore(images: scores)
    }
}
