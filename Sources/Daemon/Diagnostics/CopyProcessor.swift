import Foundation
import Glibc

/// A diagnostics processor: checks that the input *looks* like a PNG or JPEG of acceptable size (signature,
/// header, dimensions against `max_pixels`) and delivers a byte-for-byte copy. It does **not** denoise.
///
/// It exists so that the daemon's plumbing (intake, claims, delivery, ledger, recovery, systemd protocol)
/// can be run and tested end to end quickly and without a model: `n2spd --processor copy …`.
public struct CopyProcessor: ImageProcessor {
    public let model: ModelIdentity

    public init(version: String = "copy") {
        model = ModelIdentity(version: version, hash: String(repeating: "0", count: 64), path: "(copy: no model)")
    }

    public func process(input: URL, output: URL, request: ProcessingRequest) throws(ProcessingFailure) -> ProcessedOutput {
        let data: Data
        do { data = try Data(contentsOf: input) } catch { throw .transient("cannot read \(input.path): \(error.localizedDescription)") }
        let header = try Self.inspect(data)
        guard header.width > 0, header.height > 0 else { throw .rejected("\(header.format) header declares \(header.width)×\(header.height) pixels") }
        guard header.width * header.height <= request.maxPixels else {
            throw .rejected("\(header.format) declares \(header.width)×\(header.height) = \(header.width * header.height) pixels, over max_pixels = \(request.maxPixels)")
        }
        // Failing to write the output is never the input's fault: retry.
        do { try FileOps.writeNewFile(output.path, data) } catch { throw .transient(error.description) }
        return ProcessedOutput(fileExtension: header.format == "PNG" ? "png" : "jpg",
                               provenance: ["processor": "copy (diagnostics, not denoised)", "width": "\(header.width)", "height": "\(header.height)"])
    }

    /// Format and dimensions from the file header (PNG IHDR, JPEG SOFn).
    static func inspect(_ data: Data) throws(ProcessingFailure) -> (format: String, width: Int, height: Int) {
        let bytes = [UInt8](data.prefix(65536))
        func be16(_ i: Int) -> Int { Int(bytes[i]) << 8 | Int(bytes[i + 1]) }
        func be32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            guard bytes.count >= 33, Array(bytes[12..<16]) == Array("IHDR".utf8) else { throw .rejected("truncated PNG: no IHDR chunk") }
            return ("PNG", be32(16), be32(20))
        }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            var i = 2
            while i + 9 < bytes.count {
                guard bytes[i] == 0xFF else { throw .rejected("corrupt JPEG: bad marker at byte \(i)") }
                let marker = bytes[i + 1]
                if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                    return ("JPEG", be16(i + 7), be16(i + 5))
                }
                i += 2 + be16(i + 2)
            }
            throw .rejected("truncated JPEG: no frame header")
        }
        throw .rejected("not a PNG or JPEG file")
    }
}

public struct CopyProcessorFactory: ImageProcessorFactory {
    public init() {}
    public func makeProcessor(modelPath: URL?, version: String) throws -> any ImageProcessor { CopyProcessor(version: version) }
}
