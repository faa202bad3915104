import CImageCodecs
import Foundation

/// Reads and writes PNG and JPEG files through the `CImageCodecs` shim (libpng / libjpeg-turbo).
///
/// Reading checks, in this order and before any pixel buffer exists: the path is a regular, non-empty file
/// under the size cap; its signature is PNG or JPEG; its header parses and its dimensions are under the pixel
/// cap. Only then is the exact-size buffer allocated and the pixels decoded into it.
public enum ImageCodec {
    /// The header of `url`, without decoding pixels.
    public static func probe(_ url: URL, limits: ImageLimits = .default) throws(ImageError) -> ImageInfo {
        let path = url.path
        let format = try checkFile(path, limits: limits)
        var cLimits = cicLimits(limits)
        var info = cic_info()
        let (status, message) = withErrorBuffer { err, len in
            switch format {
            case .png: cic_png_probe(path, &cLimits, &info, err, len)
            case .jpeg: cic_jpeg_probe(path, &cLimits, &info, err, len)
            }
        }
        guard status == CIC_OK else { throw error(status: status, message: message, path: path) }
        let result = ImageInfo(
            format: format, width: Int(info.width), height: Int(info.height),
            colorChannels: info.has_alpha != 0 ? Int(info.channels) - 1 : Int(info.channels),
            hasAlpha: info.has_alpha != 0, bitDepth: Int(info.bit_depth), fileBitDepth: Int(info.file_bit_depth),
            isPalette: info.is_palette != 0, isInterlaced: info.is_interlaced != 0)
        // The shim enforces the same cap; checking here too keeps the guarantee visible where we allocate.
        guard result.pixelCount <= limits.maxPixels else {
            throw .tooLarge(path: path, detail: "\(result.width) x \(result.height) pixels exceeds the limit of \(limits.maxPixels) pixels")
        }
        return result
    }

    /// Decodes `url` (PNG 8/16-bit gray, gray+alpha, RGB, RGBA, palette; JPEG gray or RGB).
    public static func read(_ url: URL, limits: ImageLimits = .default) throws(ImageError) -> DecodedImage {
        try readWithInfo(url, limits: limits).image
    }

    /// `read`, plus the header information (stored bit depth, interlacing …) the decoded image drops.
    public static func readWithInfo(_ url: URL, limits: ImageLimits = .default) throws(ImageError)
        -> (image: DecodedImage, info: ImageInfo)
    {
        let path = url.path
        let info = try probe(url, limits: limits)
        var expected = cic_info()
        expected.width = UInt32(info.width)
        expected.height = UInt32(info.height)
        expected.channels = Int32(info.channels)
        expected.bit_depth = Int32(info.bitDepth)
        var cLimits = cicLimits(limits)
        let count = info.pixelCount * info.channels

        func decode(into buffer: UnsafeMutableRawBufferPointer) -> (Int32, String) {
            withErrorBuffer { err, len in
                switch info.format {
                case .png: cic_png_decode(path, &cLimits, &expected, buffer.baseAddress, buffer.count, err, len)
                case .jpeg: cic_jpeg_decode(path, &cLimits, &expected, buffer.baseAddress, buffer.count, err, len)
                }
            }
        }

        let interleaved: ImageSamples
        var status: Int32 = CIC_OK
        var message = ""
        if info.bitDepth == 8 {
            var buffer = [UInt8](repeating: 0, count: count)
            (status, message) = buffer.withUnsafeMutableBytes { decode(into: $0) }
            interleaved = .uint8(buffer)
        } else {
            var buffer = [UInt16](repeating: 0, count: count)
            (status, message) = buffer.withUnsafeMutableBytes { decode(into: $0) }
            interleaved = .uint16(buffer)
        }
        guard status == CIC_OK else { throw error(status: status, message: message, path: path) }

        let colour: ImageSamples
        var alpha: ImageSamples? = nil
        if info.hasAlpha {
            switch interleaved {
            case .uint8(let s):
                let (c, a) = SampleInterleaving.splitAlpha(s, pixels: info.pixelCount, channels: info.channels)
                colour = .uint8(c)
                alpha = .uint8(a)
            case .uint16(let s):
                let (c, a) = SampleInterleaving.splitAlpha(s, pixels: info.pixelCount, channels: info.channels)
                colour = .uint16(c)
                alpha = .uint16(a)
            }
        } else {
            colour = interleaved
        }
        let image = DecodedImage(format: info.format, width: info.width, height: info.height,
                                 colorChannels: info.colorChannels, samples: colour, alpha: alpha, wasPalette: info.isPalette,
                                 carriedSegments: info.format == .jpeg ? JPEGSegment.carried(fromHeaderOf: url) : [],
                                 carriedChunks: info.format == .png ? PNGChunk.carried(fromHeaderOf: url) : [])
        return (image, info)
    }

    // MARK: - shared with the writer

    /// Stat, size and signature checks; returns the format from the magic bytes.
    static func checkFile(_ path: String, limits: ImageLimits) throws(ImageError) -> ImageFormat {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let e = errno
            if e == ENOENT || e == ENOTDIR { throw .notFound(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(e)))
        }
        let type = st.st_mode & S_IFMT
        if type == S_IFDIR { throw .isDirectory(path: path) }
        guard type == S_IFREG else { throw .notRegularFile(path: path) }
        let size = Int64(st.st_size)
        guard size > 0 else { throw .emptyFile(path: path) }
        guard size <= limits.maxFileBytes else { throw .fileTooLarge(path: path, bytes: size, limit: limits.maxFileBytes) }

        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var magic = [UInt8](repeating: 0, count: 8)
        let got = magic.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 8) }
        guard got >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        guard let format = ImageFormat.detect(magic.prefix(got)) else { throw .notAnImage(path: path) }
        return format
    }

    static func cicLimits(_ limits: ImageLimits) -> cic_limits {
        var l = cic_limits()
        l.max_pixels = UInt64(limits.maxPixels)
        l.max_dimension = 0  // derived from max_pixels by the shim
        // Ancillary chunks are never needed to decode pixels: cap how many and how big libpng keeps, so a
        // file of a million tEXt chunks or one 2 GB iCCP cannot exhaust memory.
        l.chunk_cache_max = 1000
        l.chunk_malloc_max = 16 << 20
        return l
    }

    /// Runs a shim call with a message buffer; returns its status and message.
    static func withErrorBuffer(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) -> (Int32, String) {
        var buffer = [CChar](repeating: 0, count: 512)
        let status = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return (status, message)
    }

    /// Maps a shim status to the matching `ImageError`.
    static func error(status: Int32, message: String, path: String) -> ImageError {
        switch status {
        case CIC_ERR_NOT_IMAGE: .notAnImage(path: path)
        case CIC_ERR_TRUNCATED: .truncated(path: path, detail: message)
        case CIC_ERR_CHECKSUM: .badChecksum(path: path, detail: message)
        case CIC_ERR_TOO_LARGE: .tooLarge(path: path, detail: message)
        case CIC_ERR_UNSUPPORTED: .unsupported(path: path, reason: message)
        case CIC_ERR_MISMATCH: .changedWhileReading(path: path)
        case CIC_ERR_IO: .unreadable(path: path, reason: message)
        case CIC_ERR_EXISTS: .outputExists(path: path)
        default: .corrupt(path: path, detail: message)
        }
    }
}
