/// Per-image normalisation statistics of one independently normalised plane (population mean and
/// standard deviation, in the image's grey levels), as the engine used them.
public struct NormalizationStats: Sendable, Equatable, Codable {
    public var mean: Double
    public var std: Double

    public init(mean: Double, std: Double) {
        self.mean = mean
        self.std = std
    }
}

/// What a denoiser returns: the image (same size and channels as its input, same scale) and, if it reports
/// them, the normalisation statistics it used (one per independently denoised plane).
public struct DenoiserOutput: Sendable {
    public var image: FloatImage
    public var normalization: [NormalizationStats]
    /// Extra provenance about this run (tiling, passes …), merged into the output file's metadata.
    public var details: [String: String]

    public init(image: FloatImage, normalization: [NormalizationStats] = [], details: [String: String] = [:]) {
        self.image = image
        self.normalization = normalization
        self.details = details
    }
}

/// Something that denoises a float image: the real `InferenceEngine`, or a stand-in in tests.
/// Input and output hold colour channels only, in the file's own scale (0…255 or 0…65535).
/// Sendable so a pipeline can be handed to worker threads (the engine serialises its own passes).
public protocol ImageDenoising: Sendable {
    /// `progress`, if given, is called with (units done, units in total) as work proceeds (tiles, for the
    /// engine); returning `false` asks the denoiser to stop, which it does by throwing.
    func denoise(_ image: FloatImage, progress: DenoisingProgress?) throws -> DenoiserOutput
}

/// (completed, total) → keep going?
public typealias DenoisingProgress = (_ completed: Int, _ total: Int) -> Bool

extension ImageDenoising {
    public func denoise(_ image: FloatImage) throws -> DenoiserOutput { try denoise(image, progress: nil) }
}

/// An `ImageDenoising` made from a closure (tests, tools, wrapping any `predict`-like function).
public struct ClosureDenoiser: ImageDenoising {
    private let body: @Sendable (FloatImage) throws -> FloatImage

    public init(_ body: @escaping @Sendable (FloatImage) throws -> FloatImage) {
        self.body = body
    }

    /// Reports (0, 1) before and (1, 1) after the closure; stops before it if asked to.
    public func denoise(_ image: FloatImage, progress: DenoisingProgress?) throws -> DenoiserOutput {
        if let progress, !progress(0, 1) { throw CancellationError() }
        let output = DenoiserOutput(image: try body(image))
        _ = progress?(1, 1)
        return output
    }
}
