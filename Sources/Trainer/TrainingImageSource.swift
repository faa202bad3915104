import Denoiser
import Foundation

public enum TrainingDataError: Error, CustomStringConvertible {
    case unreadableFolder(path: String, reason: String)
    case noImages(path: String)
    case badIndex(path: String, reason: String)
    case badImage(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableFolder(let path, let reason): "cannot list training folder \(path): \(reason)"
        case .noImages(let path):
            "no training images in \(path): expected PNG/JPEG files, or float32 files listed in an index.json"
        case .badIndex(let path, let reason): "\(path): \(reason)"
        case .badImage(let path, let reason): "\(path): \(reason)"
        }
    }
}

/// One training image on disk; its pixels are read only when a patch is drawn from it.
public struct TrainingImageFile: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Raw little-endian float32, row-major HWC, shape from an index.json (the `shared/data` layout).
        case float32(height: Int, width: Int, channels: Int)
        /// PNG or JPEG, decoded by `ImageCodec`.
        case encoded
    }
    public var url: URL
    public var kind: Kind

    public init(url: URL, kind: Kind) {
        self.url = url
        self.kind = kind
    }

    /// Decodes the file (not normalised).
    public func load() throws -> FloatImage {
        switch kind {
        case .float32(let h, let w, let c):
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                throw TrainingDataError.badImage(path: url.path, reason: "\(error.localizedDescription)")
            }
            guard data.count == h * w * c * 4 else {
                throw TrainingDataError.badImage(path: url.path, reason: "\(data.count) bytes, index.json says \(h)×\(w)×\(c) float32")
            }
            let pixels = data.withUnsafeBytes { raw in
                (0..<(h * w * c)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
            return FloatImage(height: h, width: w, channels: c, pixels: pixels)
        case .encoded:
            do { return try ImageCodec.read(url).floatImage() } catch {
                throw TrainingDataError.badImage(path: url.path, reason: "\(error)")
            }
        }
    }
}

/// Lists the training images of a folder, without reading pixels:
/// - a folder with an `index.json` whose `images` entries name `f32` files and their `shape` (the layout of
///   `shared/data/*-noisy25`) yields exactly those float32 images;
/// - otherwise every `*.png`, `*.jpg`, `*.jpeg` directly in the folder (sorted by name; hidden files skipped).
public enum TrainingImageSource {
    public static func files(in folder: URL) throws -> [TrainingImageFile] {
        let indexURL = folder.appendingPathComponent("index.json")
        if FileManager.default.fileExists(atPath: indexURL.path) {
            let listed = try float32Files(index: indexURL, folder: folder)
            if !listed.isEmpty { return listed }
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw TrainingDataError.unreadableFolder(path: folder.path, reason: error.localizedDescription)
        }
        let files = names.sorted().filter { !$0.hasPrefix(".") }.compactMap { name -> TrainingImageFile? in
            let ext = (name as NSString).pathExtension.lowercased()
            guard ["png", "jpg", "jpeg"].contains(ext) else { return nil }
            return TrainingImageFile(url: folder.appendingPathComponent(name), kind: .encoded)
        }
        guard !files.isEmpty else { throw TrainingDataError.noImages(path: folder.path) }
        return files
    }

    private static func float32Files(index: URL, folder: URL) throws -> [TrainingImageFile] {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(contentsOf: index)) } catch {
            throw TrainingDataError.badIndex(path: index.path, reason: "not readable JSON (\(error.localizedDescription))")
        }
        guard let root = object as? [String: Any], let images = root["images"] as? [[String: Any]] else { return [] }
        return try images.compactMap { entry in
            guard let file = entry["f32"] as? String else { return nil }
            guard let shape = entry["shape"] as? [Int], shape.count == 2 || shape.count == 3 else {
                throw TrainingDataError.badIndex(path: index.path, reason: "entry for \(file) has no [H, W] or [H, W, C] shape")
            }
            let channels = shape.count == 3 ? shape[2] : (entry["channels"] as? Int ?? 1)
            return TrainingImageFile(url: folder.appendingPathComponent(file),
                                     kind: .float32(height: shape[0], width: shape[1], channels: channels))
        }
    }
}

extension FloatImage {
    /// Per-image z-score (`reference-model.md` §3.1): each channel minus its mean, divided by its population
    /// standard deviation (one channel: the BSD68 recipe; several: the ImageNet recipe). A constant channel
    /// is only centred.
    public func standardized() -> FloatImage {
        var out = self
        for c in 0..<channels {
            var sum = 0.0, sumSquares = 0.0
            for p in 0..<pixelCount { sum += Double(pixels[p * channels + c]) }
            let mean = sum / Double(max(pixelCount, 1))
            for p in 0..<pixelCount {
                let d = Double(pixels[p * channels + c]) - mean
                sumSquares += d * d
            }
            let std = (sumSquares / Double(max(pixelCount, 1))).squareRoot()
            let scale = std > 0 ? 1 / std : 1
            for p in 0..<pixelCount { out.pixels[p * channels + c] = Float((Double(pixels[p * channels + c]) - mean) * scale) }
        }
        return out
    }

    /// Converts to `channels` channels: identity, RGB → luma (ITU-R 601: 0.299 R + 0.587 G + 0.114 B, as
    /// PIL's `convert('L')` without its rounding), or an error for anything else.
    public func converted(toChannels target: Int, path: String) throws -> FloatImage {
        if channels == target { return self }
        guard target == 1, channels == 3 else {
            throw TrainingDataError.badImage(path: path, reason: "has \(channels) channels, the model needs \(target)")
        }
        var gray = [Float](repeating: 0, count: pixelCount)
        for p in 0..<pixelCount {
            gray[p] = 0.299 * pixels[3 * p] + 0.587 * pixels[3 * p + 1] + 0.114 * pixels[3 * p + 2]
        }
        return FloatImage(height: height, width: width, channels: 1, pixels: gray)
    }
}
