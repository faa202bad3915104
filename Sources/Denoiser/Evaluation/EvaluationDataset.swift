import Foundation

public enum EvaluationDataError: Error, CustomStringConvertible, Equatable {
    case unreadableFolder(path: String, reason: String)
    case badIndex(path: String, reason: String)
    case badImage(path: String, reason: String)
    case noPairs(noisy: String, clean: String)
    case shapeMismatch(name: String, noisy: String, clean: String)

    public var description: String {
        switch self {
        case .unreadableFolder(let path, let reason): "cannot list \(path): \(reason)"
        case .badIndex(let path, let reason): "\(path): \(reason)"
        case .badImage(let path, let reason): "\(path): \(reason)"
        case .noPairs(let noisy, let clean):
            "no noisy image in \(noisy) has a clean image of the same name (stem) in \(clean)"
        case .shapeMismatch(let name, let noisy, let clean): "\(name): noisy image is \(noisy) but the clean one is \(clean)"
        }
    }
}

/// Where a noisy test image comes from.
public enum EvaluationImageSource: Sendable, Equatable {
    /// Raw little-endian float32, row-major HWC, shape from the folder's index.json (`shared/data/*-noisy25`).
    case float32(URL, height: Int, width: Int, channels: Int)
    /// A PNG or JPEG decoded by `ImageCodec`.
    case encoded(URL)

    public var url: URL {
        switch self {
        case .float32(let url, _, _, _), .encoded(let url): url
        }
    }

    /// The samples on the file's own scale (0…255 for 8-bit; float32 files as stored, unclipped).
    public func load() throws -> FloatImage {
        switch self {
        case .float32(let url, let h, let w, let c):
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                throw EvaluationDataError.badImage(path: url.path, reason: error.localizedDescription)
            }
            guard data.count == h * w * c * 4 else {
                throw EvaluationDataError.badImage(path: url.path, reason: "\(data.count) bytes, index.json says \(h)×\(w)×\(c) float32")
            }
            var pixels = [Float](repeating: 0, count: h * w * c)
            data.withUnsafeBytes { raw in
                for i in 0..<pixels.count {
                    pixels[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                }
            }
            return FloatImage(height: h, width: w, channels: c, pixels: pixels)
        case .encoded(let url):
            do { return try ImageCodec.read(url).floatImage() } catch {
                throw EvaluationDataError.badImage(path: url.path, reason: "\(error)")
            }
        }
    }
}

/// One test image: its noisy input and its clean reference, matched by name.
public struct EvaluationPair: Sendable, Equatable {
    public var name: String
    public var noisy: EvaluationImageSource
    public var clean: URL

    public init(name: String, noisy: EvaluationImageSource, clean: URL) {
        self.name = name
        self.noisy = noisy
        self.clean = clean
    }

    /// Both images, checked to have the same shape (a clean RGB image against a 1-channel noisy one is
    /// converted to luma, ITU-R 601, as the gray benchmark sets were made).
    public func load() throws -> (noisy: FloatImage, clean: FloatImage) {
        let noisyImage = try noisy.load()
        var cleanImage = try EvaluationImageSource.encoded(clean).load()
        if cleanImage.channels == 3 && noisyImage.channels == 1 { cleanImage = cleanImage.luma() }
        guard noisyImage.height == cleanImage.height, noisyImage.width == cleanImage.width,
              noisyImage.channels == cleanImage.channels
        else {
            throw EvaluationDataError.shapeMismatch(
                name: name, noisy: "\(noisyImage.height)×\(noisyImage.width)×\(noisyImage.channels)",
                clean: "\(cleanImage.height)×\(cleanImage.width)×\(cleanImage.channels)")
        }
        return (noisyImage, cleanImage)
    }
}

/// Pairs a folder of noisy images with a folder of clean ones by file stem.
///
/// The noisy folder is either the `shared/data` layout — an `index.json` whose `images` entries give `name`,
/// `f32` (relative path) and `shape` — in which case the float32 files are used, or a plain folder of
/// PNG/JPEG files. Clean images are the PNG/JPEG files of the clean folder, matched by stem
/// (`test001.f32` ↔ `test001.png`). Pairs come sorted by name.
public struct EvaluationDataset: Sendable {
    public var pairs: [EvaluationPair]
    /// Noisy images that have no clean counterpart (reported, not evaluated).
    public var unmatched: [String]

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    public init(noisy: URL, clean: URL) throws {
        let cleanByStem = try Self.imagesByStem(in: clean)
        let noisyByStem = try Self.noisySources(in: noisy)
        var pairs: [EvaluationPair] = []
        var unmatched: [String] = []
        for (stem, source) in noisyByStem.sorted(by: { $0.key < $1.key }) {
            if let cleanURL = cleanByStem[stem] {
                pairs.append(EvaluationPair(name: stem, noisy: source, clean: cleanURL))
            } else {
                unmatched.append(stem)
            }
        }
        guard !pairs.isEmpty else { throw EvaluationDataError.noPairs(noisy: noisy.path, clean: clean.path) }
        self.pairs = pairs
        self.unmatched = unmatched
    }

    static func noisySources(in folder: URL) throws -> [String: EvaluationImageSource] {
        let index = folder.appendingPathComponent("index.json")
        if FileManager.default.fileExists(atPath: index.path) {
            let listed = try float32Sources(index: index, folder: folder)
            if !listed.isEmpty { return listed }
        }
        return try imagesByStem(in: folder).mapValues { .encoded($0) }
    }

    static func imagesByStem(in folder: URL) throws -> [String: URL] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw EvaluationDataError.unreadableFolder(path: folder.path, reason: error.localizedDescription)
        }
        var result: [String: URL] = [:]
        // Sorted so that, when a stem exists in several formats, the choice is stable (png before jpg).
        for name in names.sorted(by: { ($0 as NSString).pathExtension.lowercased() > ($1 as NSString).pathExtension.lowercased() || $0 < $1 }) where !name.hasPrefix(".") {
            let ext = (name as NSString).pathExtension.lowercased()
            guard imageExtensions.contains(ext) else { continue }
            let stem = (name as NSString).deletingPathExtension
            if result[stem] == nil { result[stem] = folder.appendingPathComponent(name) }
        }
        return result
    }

    static func float32Sources(index: URL, folder: URL) throws -> [String: EvaluationImageSource] {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(contentsOf: index)) } catch {
            throw EvaluationDataError.badIndex(path: index.path, reason: "not readable JSON (\(error.localizedDescription))")
        }
        guard let root = object as? [String: Any], let images = root["images"] as? [[String: Any]] else { return [:] }
        var result: [String: EvaluationImageSource] = [:]
        for entry in images {
            guard let file = entry["f32"] as? String else { continue }
            guard let shape = entry["shape"] as? [Int], shape.count == 2 || shape.count == 3 else {
                throw EvaluationDataError.badIndex(path: index.path, reason: "entry for \(file) has no [H, W] or [H, W, C] shape")
            }
            let stem = entry["name"] as? String ?? ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            result[stem] = .float32(folder.appendingPathComponent(file), height: shape[0], width: shape[1],
                                    channels: shape.count == 3 ? shape[2] : 1)
        }
        return result
    }
}

extension FloatImage {
    /// RGB → luma (ITU-R 601 weights), for scoring a gray prediction against a colour reference.
    func luma() -> FloatImage {
        precondition(channels == 3)
        var gray = [Float](repeating: 0, count: pixelCount)
        for p in 0..<pixelCount {
            gray[p] = 0.299 * pixels[3 * p] + 0.587 * pixels[3 * p + 1] + 0.114 * pixels[3 * p + 2]
        }
        return FloatImage(height: height, width: width, channels: 1, pixels: gray)
    }
}
