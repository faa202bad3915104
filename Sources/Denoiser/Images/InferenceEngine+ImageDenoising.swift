/// The real denoiser for files: `predictReporting` with its statistics and tiling recorded as provenance.
/// The engine denoises each colour channel independently when the model has one channel, and takes RGB
/// directly when the model has three.
extension InferenceEngine: ImageDenoising {
    public func denoise(_ image: FloatImage, progress: DenoisingProgress?) throws -> DenoiserOutput {
        let (output, report) = try predictReporting(image, progress: progress)
        let tiling = report.tilesPerPass == 1
            ? "whole image (\(report.paddedWidth)x\(report.paddedHeight) padded)"
            : "\(report.tilesPerPass) tiles of \(report.tileWidth)x\(report.tileHeight) per pass "
                + "(\(report.paddedWidth)x\(report.paddedHeight) padded, margin \(receptiveFieldMargin))"
        return DenoiserOutput(
            image: output,
            normalization: report.statistics.map { NormalizationStats(mean: Double($0.mean), std: Double($0.std)) },
            details: [
                "n2sp.tiling": tiling,
                "n2sp.passes": "\(report.passes) (\(architecture.inputChannels)-channel model)",
                "n2sp.predict.seconds": String(format: "%.3f", report.seconds),
            ])
    }
}
