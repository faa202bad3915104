import CImageCodecs
import Foundation

/// How an image is encoded.
public struct ImageWriteOptions: Sendable, Equatable {
    /// zlib level 0…9. Default 6, zlib's own default: denoised images compress well, and the level-9 gain
    /// is a few percent for several times the time.
    public var pngCompressionLevel: Int
    /// libjpeg quality 1…100. Default 95: denoising output should not be re-degraded by the encoder.
    public var jpegQuality: Int
    /// 4:2:0 chroma subsampling for RGB JPEG. Default off (4:4:4), for the same reason.
    public var jpegChromaSubsampling: Bool
    /// Progressive JPEG (smaller files, coarse-to-fine display). Default off: baseline decodes everywhere
    /// and faster.
    public var jpegProgressive: Bool
    /// fsync the file before returning (the pipeline publishes it with a rename right after).
    public var fsync: Bool
    /// Written as PNG text chunks (one per key; tEXt, or iTXt for non-ASCII values) or, for JPEG, as one
    /// COM marker holding a JSON object with these keys, sorted.
    public var provenance: [String: String]

    public init(pngCompressionLevel: Int = 6, jpegQuality: Int = 95, jpegChromaSubsampling: Bool = false,
                jpegProgressive: Bool = false, fsync: Bool = true, provenance: [String: String] = [:]) {
        self.pngCompressionLevel = pngCompressionLevel
        self.jpegQuality = jpegQuality
        self.jpegChromaSubsampling = jpegChromaSubsampling
        self.jpegProgressive = jpegProgressive
        self.fsync = fsync
        self.provenance = provenance
    }
}

extension ImageCodec {
    /// Encodes `image` to `url` as `format` (default: the format it was read from). The file is created
    /// exclusively: an existing file is never replaced (`.outputExists`); a failed write leaves no file.
    ///
    /// JPEG holds neither alpha nor 16-bit samples: asking for either is `.unsupported` (the pipeline never
    /// does, since it writes JPEG only for JPEG input).
    public static func write(_ image: DecodedImage, to url: URL, format: ImageFormat? = nil,
                             options: ImageWriteOptions = .init()) throws(ImageError) {
        let path = url.path
        let format = format ?? image.format
        guard image.width <= Int(UInt32.max), image.height <= Int(UInt32.max) else {
            throw .unsupported(path: path, reason: "\(image.width) x \(image.height) is too large to encode")
        }
        let (status, message): (Int32, String)
        switch format {
        case .png:
            (status, message) = writePNG(image, path: path, options: options)
        case .jpeg:
            guard image.bitDepth == 8 else { throw .unsupported(path: path, reason: "JPEG cannot store 16-bit samples") }
            guard !image.hasAlpha else { throw .unsupported(path: path, reason: "JPEG cannot store an alpha channel") }
            guard case .uint8(let samples) = image.samples else { preconditionFailure("8-bit image without 8-bit samples") }
            let comment = jpegComment(options.provenance)
            (status, message) = writeJPEG(samples, image: image, path: path, comment: comment, options: options)
        }
        guard status == CIC_OK else {
            if status == CIC_ERR_EXISTS { throw .outputExists(path: path) }
            throw .writeFailed(path: path, reason: message)
        }
    }

    private static func writeJPEG(_ samples: [UInt8], image: DecodedImage, path: String, comment: String,
                                  options: ImageWriteOptions) -> (Int32, String) {
        // Pin every carried payload for the duration of the call (nested closures, one per segment).
        func withMarkers(_ index: Int, _ built: [cic_jpeg_marker], _ body: ([cic_jpeg_marker]) -> (Int32, String)) -> (Int32, String) {
            guard index < image.carriedSegments.count else { return body(built) }
            let segment = image.carriedSegments[index]
            return segment.payload.withUnsafeBufferPointer { payload in
                withMarkers(index + 1, built + [cic_jpeg_marker(marker: Int32(segment.marker), data: payload.baseAddress,
                                                                 length: UInt32(payload.count))], body)
            }
        }
        return withMarkers(0, []) { markers in
            markers.withUnsafeBufferPointer { m in
                samples.withUnsafeBufferPointer { px in
                    withErrorBuffer { err, len in
                        cic_jpeg_encode(path, px.baseAddress, UInt32(image.width), UInt32(image.height),
                                        Int32(image.colorChannels), Int32(options.jpegQuality),
                                        options.jpegChromaSubsampling ? 1 : 0, options.jpegProgressive ? 1 : 0,
                                        comment, m.baseAddress, Int32(m.count),
                                        options.fsync ? 1 : 0, err, len)
                    }
                }
            }
        }
    }

    private static func writePNG(_ image: DecodedImage, path: String, options: ImageWriteOptions) -> (Int32, String) {
        let entries = pngTextEntries(options.provenance)
        // Keep the C strings alive for the whole call.
        let keys = entries.map { strdup($0.key)! }
        let values = entries.map { strdup($0.value)! }
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        let texts = (0..<entries.count).map { cic_text(key: keys[$0], value: values[$0]) }
        // One contiguous copy of the carried chunks' bytes keeps every pointer valid for the call.
        let carried = image.carriedChunks
        let blob = carried.flatMap(\.data)
        func encode(_ pixels: UnsafeRawPointer?) -> (Int32, String) {
            blob.withUnsafeBufferPointer { bytes in
                var offset = 0
                let chunks = carried.map { chunk -> cic_png_chunk in
                    var c = cic_png_chunk()
                    withUnsafeMutableBytes(of: &c.type) { t in
                        for (i, b) in chunk.type.utf8.prefix(4).enumerated() { t[i] = b }
                    }
                    c.data = chunk.data.isEmpty ? nil : bytes.baseAddress.map { $0 + offset }
                    c.length = UInt32(chunk.data.count)
                    offset += chunk.data.count
                    return c
                }
                return chunks.withUnsafeBufferPointer { ch in
                    texts.withUnsafeBufferPointer { t in
                        withErrorBuffer { err, len in
                            cic_png_encode(path, pixels, UInt32(image.width), UInt32(image.height), Int32(image.channels),
                                           Int32(image.bitDepth), t.baseAddress, Int32(t.count), ch.baseAddress, Int32(ch.count),
                                           Int32(options.pngCompressionLevel), options.fsync ? 1 : 0, err, len)
                        }
                    }
                }
            }
        }
        switch (image.samples, image.alpha) {
        case (.uint8(let c), nil):
            return c.withUnsafeBytes { encode($0.baseAddress) }
        case (.uint16(let c), nil):
            return c.withUnsafeBytes { encode($0.baseAddress) }
        case (.uint8(let c), .uint8(let a)?):
            let merged = SampleInterleaving.mergeAlpha(color: c, alpha: a, pixels: image.pixelCount, colorChannels: image.colorChannels)
            return merged.withUnsafeBytes { encode($0.baseAddress) }
        case (.uint16(let c), .uint16(let a)?):
            let merged = SampleInterleaving.mergeAlpha(color: c, alpha: a, pixels: image.pixelCount, colorChannels: image.colorChannels)
            return merged.withUnsafeBytes { encode($0.baseAddress) }
        default:
            preconditionFailure("alpha and colour samples differ in bit depth")  // DecodedImage.init forbids it
        }
    }

    /// PNG keywords are 1–79 printable Latin-1 characters without leading, trailing or double spaces;
    /// anything else becomes `_`. Values lose NULs (C strings). Sorted for reproducible files.
    static func pngTextEntries(_ provenance: [String: String]) -> [(key: String, value: String)] {
        provenance.keys.sorted().map { key in
            var k = String(key.unicodeScalars.map { (0x21...0x7E).contains($0.value) || $0 == " " ? Character($0) : "_" })
            while k.contains("  ") { k = k.replacingOccurrences(of: "  ", with: " ") }
            k = k.trimmingCharacters(in: .whitespaces)
            if k.isEmpty { k = "_" }
            if k.count > 79 { k = String(k.prefix(79)) }
            return (k, provenance[key]!.replacingOccurrences(of: "\0", with: ""))
        }
    }

    /// The JPEG comment: `{"key":"value",…}` with sorted keys (JSON, so it can be parsed back).
    static func jpegComment(_ provenance: [String: String]) -> String {
        guard !provenance.isEmpty,
              let data = try? JSONSerialization.data(withJSONObject: provenance, options: [.sortedKeys, .withoutEscapingSlashes]),
              let text = String(data: data, encoding: .utf8)
        else { return "" }
        return text
    }
}
