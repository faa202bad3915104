import CheckpointImport
import Dispatch
import Foundation

/// Runs the Noise2Same U-Net on the CPU with the TensorFlow reference's numerics.
///
/// `forward` is the bare network (normalised input, H and W multiples of 2^depth, any batch size);
/// `predict` is the reference's `predict()` (§5.1): per-channel mean/std, z-score, numpy-'reflect' pad to a
/// multiple of 2^depth, network, crop, `y·std + mean`, no clipping. Large images are tiled under
/// `EngineOptions.memoryBudget` with overlaps of the receptive-field margin, so tiled = whole image.
///
/// Channels: a 1-channel model denoises every channel of a C-channel image independently (each channel
/// gets its own mean/std and its own network pass). A C-channel model (the reference's ImageNet set-up)
/// takes C-channel images and normalises per channel, as the reference does with per-channel `im_mean`/`im_std`.
///
/// Thread safety: one forward pass at a time per engine (calls are serialised by a lock; the engine
/// itself parallelises each pass over the cores).
public final class InferenceEngine: @unchecked Sendable {
    public let options: EngineOptions
    let layers: UNetLayers
    private let lock = NSLock()
    private var workspace: InferenceWorkspace?

    public init(weights: ModelWeights, options: EngineOptions = .init()) throws {
        self.options = options
        layers = try UNetLayers(weights: weights, options: options)
    }

    public var architecture: ModelArchitecture { layers.architecture }

    /// Input pixels a tile needs around the pixels it writes (see `ReceptiveField`).
    public var receptiveFieldMargin: Int { ReceptiveField.margin(architecture) }

    /// Multiply-accumulates of one forward pass over `shape` (FLOPs = 2 × this).
    public func multiplyAccumulates(for shape: TensorShape) -> Int { layers.multiplyAccumulates(shape: shape) }

    /// Engine memory (activations + scratch) a forward pass over `shape` plans, in bytes.
    public func workspaceBytes(for shape: TensorShape) -> Int {
        InferenceWorkspace.bytes(layers, shape: shape, chunkBytes: options.im2colChunkBytes)
    }

    /// Frees the cached activation buffers (kept between calls, and reused for any shape that fits in them).
    public func releaseWorkspace() {
        lock.lock(); defer { lock.unlock() }
        workspace = nil
    }

    // MARK: network

    public func forward(_ input: Tensor) throws -> Tensor {
        let s = input.shape
        let m = architecture.paddingMultiple
        guard s.channels == architecture.inputChannels else {
            throw InferenceError.inputShape("input \(s) has \(s.channels) channels, the model takes \(architecture.inputChannels)")
        }
        guard s.batch > 0, s.height > 0, s.width > 0, s.height % m == 0, s.width % m == 0 else {
            throw InferenceError.inputShape("input \(s): height and width must be positive multiples of \(m) (2^depth)")
        }
        lock.lock(); defer { lock.unlock() }
        let ws = planWorkspace(s)
        input.values.withUnsafeBufferPointer { ws.input.update(from: $0.baseAddress!, count: s.count) }
        runNetwork(ws)
        return Tensor(shape: s, values: Array(UnsafeBufferPointer(start: ws.output, count: s.count)))
    }

    private func planWorkspace(_ shape: TensorShape) -> InferenceWorkspace {
        if let ws = workspace, ws.shape == shape { return ws }
        var previous = workspace?.storage
        workspace = nil
        let needed = InferenceWorkspace.bytes(layers, shape: shape, chunkBytes: options.im2colChunkBytes)
        // keep the old memory if the new plan fits in it; otherwise free it before allocating the new one
        if let p = previous, p.count * MemoryLayout<Float>.stride < needed { previous = nil }
        let ws = InferenceWorkspace(layers, shape: shape, chunkBytes: options.im2colChunkBytes, reusing: previous)
        previous = nil
        workspace = ws
        return ws
    }

    private func runNetwork(_ ws: InferenceWorkspace) {
        GEMM.setThreads(options.threading == .workers ? 1 : options.threads)
        layers.run(ws, threads: options.threads)
    }

    // MARK: predict

    public func predict(_ image: FloatImage) throws -> FloatImage {
        try predictReporting(image).image
    }

    /// `predict` plus what it did (statistics, tiling, time).
    /// - Parameter progress: called after every tile with (tiles done, tiles in total, over all passes);
    ///   return `false` to stop, which throws `InferenceError.cancelled` (for progress bars and for a daemon
    ///   that must give up a huge image on shutdown).
    public func predictReporting(
        _ image: FloatImage, progress: ((_ completed: Int, _ total: Int) -> Bool)? = nil
    ) throws -> (image: FloatImage, report: PredictReport) {
        let start = DispatchTime.now()
        guard image.height > 0, image.width > 0 else { throw InferenceError.emptyImage }
        let modelChannels = architecture.inputChannels
        let groups: [[Int]]
        if modelChannels == image.channels {
            groups = [Array(0..<image.channels)]
        } else if modelChannels == 1 {
            groups = (0..<image.channels).map { [$0] }
        } else {
            throw InferenceError.channelMismatch(modelChannels: modelChannels, imageChannels: image.channels)
        }
        let layout = tileLayout(height: image.height, width: image.width)
        var output = FloatImage(height: image.height, width: image.width, channels: image.channels)
        var statistics: [ChannelStatistics] = []
        lock.lock(); defer { lock.unlock() }
        let ws = planWorkspace(TensorShape(height: layout.tileHeight, width: layout.tileWidth, channels: modelChannels))
        var completed = 0
        let total = layout.tileCount * groups.count
        for group in groups {
            let stats = image.pixels.withUnsafeBufferPointer { px in
                group.map { ChannelStatistics.measure(px.baseAddress! + $0, count: image.pixelCount, stride: image.channels) }
            }
            statistics += stats
            let finished = runTiles(image, channels: group, statistics: stats, layout: layout, workspace: ws, into: &output) {
                completed += 1
                return progress?(completed, total) ?? true
            }
            if !finished { throw InferenceError.cancelled }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let report = PredictReport(
            statistics: statistics, paddedHeight: layout.paddedHeight, paddedWidth: layout.paddedWidth,
            tileHeight: layout.tileHeight, tileWidth: layout.tileWidth, tilesPerPass: layout.tileCount,
            passes: groups.count, workspaceBytes: ws.byteCount, seconds: seconds)
        return (output, report)
    }

    /// The network input `predict` builds for `image` (normalised, reflect-padded; all channels of a
    /// model-channel image, or one channel for a 1-channel model), with its statistics.
    public func normalizedPaddedInput(_ image: FloatImage, channel: Int = 0) -> (tensor: Tensor, statistics: [ChannelStatistics]) {
        let group = architecture.inputChannels == image.channels ? Array(0..<image.channels) : [channel]
        let stats = image.pixels.withUnsafeBufferPointer { px in
            group.map { ChannelStatistics.measure(px.baseAddress! + $0, count: image.pixelCount, stride: image.channels) }
        }
        let m = architecture.paddingMultiple
        let (top, bottom) = ReflectPadding.amounts(length: image.height, multiple: m)
        let (left, right) = ReflectPadding.amounts(length: image.width, multiple: m)
        let shape = TensorShape(height: image.height + top + bottom, width: image.width + left + right, channels: group.count)
        var tensor = Tensor(shape: shape)
        image.pixels.withUnsafeBufferPointer { px in
            tensor.values.withUnsafeMutableBufferPointer { out in
                fillTile(px.baseAddress!, image: image, channels: group, statistics: stats, padTop: top, padLeft: left,
                         rowStart: 0, columnStart: 0, height: shape.height, width: shape.width, into: out.baseAddress!)
            }
        }
        return (tensor, stats)
    }

    /// Chooses the tile size: the whole padded image if it fits the budget, else the largest tiles
    /// (multiples of 2^depth, more than twice the margin) whose planned memory fits.
    public func tileLayout(height: Int, width: Int) -> TileLayout {
        let m = architecture.paddingMultiple
        let hp = height + ReflectPadding.amounts(length: height, multiple: m).before + ReflectPadding.amounts(length: height, multiple: m).after
        let wp = width + ReflectPadding.amounts(length: width, multiple: m).before + ReflectPadding.amounts(length: width, multiple: m).after
        let margin = (receptiveFieldMargin + m - 1) / m * m
        let smallest = 2 * margin + m
        var cap = Int.max
        if let side = options.maximumTileSide { cap = max(side / m * m, smallest) }
        func fits(_ h: Int, _ w: Int) -> Bool {
            workspaceBytes(for: TensorShape(height: h, width: w, channels: architecture.inputChannels)) <= options.memoryBudget
        }
        // largest multiple of m in [smallest, limit] with fits(), or smallest if none does
        func largest(limit: Int, _ ok: (Int) -> Bool) -> Int {
            var lo = smallest / m, hi = max(limit / m, lo)
            if ok(hi * m) { return hi * m }
            if !ok(lo * m) { return lo * m }
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if ok(mid * m) { lo = mid } else { hi = mid }
            }
            return lo * m
        }
        var th = min(hp, cap), tw = min(wp, cap)
        if !fits(th, tw) {
            let side = largest(limit: min(max(hp, wp), cap)) { fits(min(hp, $0), min(wp, $0)) }
            th = min(hp, side)
            tw = min(wp, side)
            // an axis shorter than the square side leaves budget for the other one
            if th < side { tw = min(wp, largest(limit: min(wp, cap)) { fits(th, $0) }) }
            if tw < side { th = min(hp, largest(limit: min(hp, cap)) { fits($0, tw) }) }
        }
        return TileLayout(paddedHeight: hp, paddedWidth: wp, tileHeight: th, tileWidth: tw, margin: margin,
                          rows: TileLayout.spans(length: hp, tile: th, margin: margin),
                          columns: TileLayout.spans(length: wp, tile: tw, margin: margin))
    }

    /// Returns false if `afterTile` asked to stop.
    private func runTiles(_ image: FloatImage, channels: [Int], statistics: [ChannelStatistics], layout: TileLayout,
                          workspace ws: InferenceWorkspace, into output: inout FloatImage,
                          afterTile: () -> Bool) -> Bool {
        let m = architecture.paddingMultiple
        let top = ReflectPadding.amounts(length: image.height, multiple: m).before
        let left = ReflectPadding.amounts(length: image.width, multiple: m).before
        let th = layout.tileHeight, tw = layout.tileWidth
        let cm = channels.count
        let ci = image.channels
        return image.pixels.withUnsafeBufferPointer { src in
            output.pixels.withUnsafeMutableBufferPointer { dst in
                let out = dst.baseAddress!
                for row in layout.rows {
                    for column in layout.columns {
                        fillTile(src.baseAddress!, image: image, channels: channels, statistics: statistics,
                                 padTop: top, padLeft: left, rowStart: row.start, columnStart: column.start,
                                 height: th, width: tw, into: ws.input)
                        runNetwork(ws)
                        // crop: padded rows/columns outside the image are dropped; de-normalise the rest
                        let y0 = max(row.write.lowerBound, top), y1 = min(row.write.upperBound, top + image.height)
                        let x0 = max(column.write.lowerBound, left), x1 = min(column.write.upperBound, left + image.width)
                        guard y0 < y1, x0 < x1 else {
                            if !afterTile() { return false }
                            continue
                        }
                        let netOut = ws.output
                        Parallel.forRanges(y1 - y0, threads: options.threads, minimumChunk: max(1, 32_768 / max(x1 - x0, 1))) { part in
                            for py in (y0 + part.lowerBound)..<(y0 + part.upperBound) {
                                let srcRow = netOut + ((py - row.start) * tw + (x0 - column.start)) * cm
                                let dstRow = out + ((py - top) * image.width + (x0 - left)) * ci
                                for i in 0..<(x1 - x0) {
                                    for (k, c) in channels.enumerated() {
                                        dstRow[i * ci + c] = statistics[k].denormalize(srcRow[i * cm + k])
                                    }
                                }
                            }
                        }
                        if !afterTile() { return false }
                    }
                }
                return true
            }
        }
    }

    /// Writes the normalised, reflect-padded window `[rowStart, +height) × [columnStart, +width)` of the
    /// padded image into `into` (height·width·channels.count floats).
    private func fillTile(_ src: UnsafePointer<Float>, image: FloatImage, channels: [Int], statistics: [ChannelStatistics],
                          padTop: Int, padLeft: Int, rowStart: Int, columnStart: Int, height: Int, width: Int,
                          into: UnsafeMutablePointer<Float>) {
        let cm = channels.count, ci = image.channels
        Parallel.forRanges(height, threads: options.threads, minimumChunk: max(1, 32_768 / max(width, 1))) { part in
            for ty in part {
                let sy = ReflectPadding.sourceIndex(rowStart + ty - padTop, length: image.height)
                let srcRow = src + sy * image.width * ci
                let dstRow = into + ty * width * cm
                for tx in 0..<width {
                    let sx = ReflectPadding.sourceIndex(columnStart + tx - padLeft, length: image.width)
                    for (k, c) in channels.enumerated() {
                        dstRow[tx * cm + k] = statistics[k].normalize(srcRow[sx * ci + c])
                    }
                }
            }
        }
    }
}
