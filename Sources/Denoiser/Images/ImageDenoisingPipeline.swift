import Foundation

/// What happened to one file.
public struct ImageDenoisingResult: Sendable {
    public var input: URL
    public var output: URL
    /// The side-by-side before/after PNG, when asked for.
    public var comparison: URL?
    /// Why the comparison could not be written (the denoised output itself was; it is not undone).
    public var comparisonError: ImageError?
    public var info: ImageInfo
    /// As reported by the denoiser (empty if it reports none).
    public var normalization: [NormalizationStats]
    public var readTime: Duration
    public var denoiseTime: Duration
    public var writeTime: Duration
    /// The metadata written into the output.
    public var provenance: [String: String]

    public var totalTime: Duration { readTime + denoiseTime + writeTime }
}

/// The file-level pipeline: read → `FloatImage` (colour channels) → denoise → clip and round back to the
/// file's own type → write next to nothing it could replace.
///
/// - Output keeps the input's format, bit depth, colour channels and alpha (alpha is copied untouched).
///   Palette PNGs are written as RGB(A) 8-bit PNGs: denoised colours leave the palette. 1/2/4-bit gray
///   PNGs are written as 8-bit gray; a tRNS colour key becomes a real alpha channel. JPEG output is
///   re-encoded with `writeOptions` (quality 95, 4:4:4). The samples are passed on as numbers, never
///   colour-managed, so the input's colour description is copied verbatim: PNG iCCP/sRGB/gAMA/cHRM/cICP/
///   pHYs chunks, JPEG EXIF (orientation) and ICC segments. Other metadata (tEXt, tIME, XMP …) is not.
/// - Naming: `<stem><suffix>.<ext>` in the output folder, where `<ext>` is the input's own extension when
///   it names the file's real format (`.JPG`, `.jpeg`, `.png` kept as is), else `png`/`jpg`. When that
///   name is taken, `.uniqueName` tries `-2`, `-3`, …; `.fail` refuses. Existing files are never replaced,
///   even when another process creates the name concurrently (rename with RENAME_NOREPLACE).
/// - Colour: the denoiser gets all colour channels at once; a 1-channel model denoises each independently
///   (the engine does this), a 3-channel model takes RGB as is.
public struct ImageDenoisingPipeline: Sendable {
    public var denoiser: any ImageDenoising
    public var limits: ImageLimits
    /// Added to the input's stem: `photo.png` → `photo-denoised.png`.
    public var suffix: String
    public var conflictPolicy: OutputConflictPolicy
    /// Encoder settings; its `provenance` is the caller's part of the metadata (model version/hash,
    /// tiling …), to which the pipeline adds the input's name, SHA-256, size, time and normalisation.
    public var writeOptions: ImageWriteOptions
    /// Also write `<stem><suffix>-compare.png` (before | after, 8-bit).
    public var writeComparison: Bool

    public init(denoiser: any ImageDenoising, limits: ImageLimits = .default, suffix: String = "-denoised",
                conflictPolicy: OutputConflictPolicy = .uniqueName, writeOptions: ImageWriteOptions = .init(),
                writeComparison: Bool = false) {
        self.denoiser = denoiser
        self.limits = limits
        self.suffix = suffix
        self.conflictPolicy = conflictPolicy
        self.writeOptions = writeOptions
        self.writeComparison = writeComparison
    }

    /// Denoises `input` into `outputDirectory` (which must exist). `progress` is handed to the denoiser
    /// (tiles done / total for the engine); returning `false` from it cancels the file (`.cancelled`).
    public func process(_ input: URL, into outputDirectory: URL, progress: DenoisingProgress? = nil)
        throws(ImageError) -> ImageDenoisingResult
    {
        let clock = ContinuousClock()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: outputDirectory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .writeFailed(path: outputDirectory.path, reason: "the output folder does not exist")
        }

        let start = clock.now
        let (decoded, info) = try ImageCodec.readWithInfo(input, limits: limits)
        let stem = input.deletingPathExtension().lastPathComponent
        let ext = ImageFormat(pathExtension: input.pathExtension) == decoded.format ? input.pathExtension
            : decoded.format.preferredExtension
        if conflictPolicy == .fail {
            // Fail before spending the denoising time; the publish step re-checks atomically.
            let target = outputDirectory.appendingPathComponent(
                OutputPublisher.candidateName(stem: stem, suffix: suffix, extension: ext, attempt: 1))
            if FileManager.default.fileExists(atPath: target.path) { throw .outputExists(path: target.path) }
        }
        let digest: String
        do { digest = try SHA256.hex(ofFileAt: input) } catch {
            throw .unreadable(path: input.path, reason: "\(error)")
        }
        let readDone = clock.now

        let denoised: DenoiserOutput
        var stopped = false
        let watched: DenoisingProgress? = progress.map { report in
            { done, total in
                let goOn = report(done, total)
                if !goOn { stopped = true }
                return goOn
            }
        }
        do { denoised = try denoiser.denoise(decoded.floatImage(), progress: watched) } catch {
            if stopped { throw .cancelled(path: input.path) }
            throw .denoiserFailed(path: input.path, reason: "\(error)")
        }
        let out = denoised.image
        guard out.width == decoded.width, out.height == decoded.height, out.channels == decoded.colorChannels else {
            throw .denoiserFailed(path: input.path, reason: "the denoiser returned \(out.width)×\(out.height)×\(out.channels), "
                                    + "expected \(decoded.width)×\(decoded.height)×\(decoded.colorChannels)")
        }
        let result = decoded.replacingColor(with: out)
        let denoiseDone = clock.now

        var options = writeOptions
        options.provenance = provenance(for: input, image: decoded, digest: digest, output: denoised)
        let output = try OutputPublisher.publish(
            in: outputDirectory, stem: stem, suffix: suffix, extension: ext, policy: conflictPolicy
        ) { (temp: URL) throws(ImageError) in
            try ImageCodec.write(result, to: temp, format: decoded.format, options: options)
        }
        var comparison: URL? = nil
        var comparisonError: ImageError? = nil
        if writeComparison {
            let sideBySide = ComparisonImage.make(before: decoded, after: result)
            do {
                comparison = try OutputPublisher.publish(
                    in: outputDirectory, stem: stem, suffix: suffix + "-compare", extension: "png", policy: conflictPolicy
                ) { (temp: URL) throws(ImageError) in
                    try ImageCodec.write(sideBySide, to: temp, format: .png, options: options)
                }
            } catch {
                comparisonError = error
            }
        }
        let writeDone = clock.now
        return ImageDenoisingResult(
            input: input, output: output, comparison: comparison, comparisonError: comparisonError, info: info,
            normalization: denoised.normalization,
            readTime: readDone - start, denoiseTime: denoiseDone - readDone, writeTime: writeDone - denoiseDone,
            provenance: options.provenance)
    }

    private func provenance(for input: URL, image: DecodedImage, digest: String, output: DenoiserOutput) -> [String: String] {
        let normalization = output.normalization
        var p = writeOptions.provenance.merging(output.details) { _, run in run }
        p["Software"] = p["Software"] ?? "n2sp"
        p["n2sp.input"] = input.lastPathComponent
        p["n2sp.input.sha256"] = digest
        p["n2sp.input.size"] = "\(image.width)x\(image.height)x\(image.channels) \(image.bitDepth)-bit\(image.wasPalette ? " palette" : "")"
        p["n2sp.time"] = ISO8601DateFormatter().string(from: Date())
        p["n2sp.rounding"] = "clip to [0,\(image.maxSampleValue)], round half away from zero"
        if image.hasAlpha { p["n2sp.alpha"] = "copied unchanged" }
        if !normalization.isEmpty {
            p["n2sp.normalization"] = normalization
                .map { "mean=\(String(format: "%.6g", $0.mean)) std=\(String(format: "%.6g", $0.std))" }
                .joined(separator: "; ")
        }
        return p
    }
}
