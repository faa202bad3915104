/// All memory one forward pass needs for one input shape, planned once and reused for every call (and
/// every tile) with that shape. Per U-Net level L (width c_L, pixels P_L = N·H/2^(L−1)·W/2^(L−1)):
///   `main[L]`   c_L   the level's running activation; the skip connection until the decoder consumes it
///   `wide[L]`   2c_L  (c_L at the deepest level) the activated concat, or an identity block's `relu(bn1(x))`
///   `hidden[L]` c_L   a residual block's inner activation `relu(bn2(conv1(·)))`
/// plus the network input and output (C_in each at level 1) and one im2col scratch shared by all convolutions.
///
/// Overlay: while anything below level 1 runs, only `main[1]` (the skip) of level 1 is live, so all deeper
/// buffers are placed inside level 1's `wide` + `hidden` (3c_1·P_1 floats; levels ≥ 2 of the reference
/// configuration need 2.75c_1·P_1). `main[2]` goes at the very end of that region, inside `hidden[1]`,
/// because it is still read (by the level-1 transposed conv) while `wide[1]` is being written; it is dead by
/// the time `hidden[1]` is. Configurations whose deep levels do not fit get separate buffers.
/// Paper model: 4c_1 + 2 = 386 floats ≈ 1.5 KB per input pixel + the fixed scratch.
final class InferenceWorkspace {
    struct Plan {
        var totalFloats = 0
        var input = 0, output = 0
        var main: [Int] = [], wide: [Int] = [], hidden: [Int] = []
        var scratch = 0, scratchCount = 0
        var overlaid = false
    }

    let shape: TensorShape
    let storage: AlignedBuffer
    let input: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let main: [UnsafeMutablePointer<Float>]    // index level − 1
    let wide: [UnsafeMutablePointer<Float>]
    let hidden: [UnsafeMutablePointer<Float>]
    let scratch: UnsafeMutableBufferPointer<Float>
    let overlaid: Bool

    /// Offsets (floats) of every buffer; each buffer is rounded up to 16 floats (64 bytes).
    static func plan(_ layers: UNetLayers, shape: TensorShape, chunkBytes: Int) -> Plan {
        let arch = layers.architecture
        let depth = arch.depth
        func round(_ n: Int) -> Int { (n + 15) & ~15 }
        func pixels(_ level: Int) -> Int { shape.batch * (shape.height >> (level - 1)) * (shape.width >> (level - 1)) }
        func sizes(_ level: Int) -> (main: Int, wide: Int, hidden: Int) {
            let c = arch.filters(atLevel: level), p = pixels(level)
            return (round(p * c), round(p * (level < depth ? 2 * c : c)), round(p * c))
        }
        var plan = Plan()
        var offset = 0
        func take(_ n: Int) -> Int { defer { offset += n }; return offset }
        plan.input = take(round(shape.count))
        plan.output = take(round(shape.count))
        plan.main = [Int](repeating: 0, count: depth)
        plan.wide = plan.main
        plan.hidden = plan.main
        let top = sizes(1)
        plan.main[0] = take(top.main)
        plan.wide[0] = take(top.wide)
        plan.hidden[0] = take(top.hidden)
        if depth > 1 {
            let regionStart = plan.wide[0], regionEnd = offset
            let main2 = sizes(2).main
            var cursor = regionStart
            var tentative = plan
            tentative.main[1] = regionEnd - main2
            for level in 2...depth {
                let s = sizes(level)
                if level > 2 { tentative.main[level - 1] = cursor; cursor += s.main }
                tentative.wide[level - 1] = cursor; cursor += s.wide
                tentative.hidden[level - 1] = cursor; cursor += s.hidden
            }
            if cursor <= tentative.main[1] && tentative.main[1] >= plan.hidden[0] {
                plan = tentative
                plan.overlaid = true
            } else {
                for level in 2...depth {
                    let s = sizes(level)
                    plan.main[level - 1] = take(s.main)
                    plan.wide[level - 1] = take(s.wide)
                    plan.hidden[level - 1] = take(s.hidden)
                }
            }
        }
        plan.scratchCount = round(max(scratchCount(layers, shape: shape, chunkBytes: chunkBytes), 16))
        plan.scratch = take(plan.scratchCount)
        plan.totalFloats = offset
        return plan
    }

    /// Bytes a forward pass over `shape` needs (what the tiler compares with the budget).
    static func bytes(_ layers: UNetLayers, shape: TensorShape, chunkBytes: Int) -> Int {
        plan(layers, shape: shape, chunkBytes: chunkBytes).totalFloats * MemoryLayout<Float>.stride
    }

    /// The largest im2col / transposed-conv scratch any layer wants for this shape.
    static func scratchCount(_ layers: UNetLayers, shape: TensorShape, chunkBytes: Int) -> Int {
        var most = 0
        let workers = layers.threads
        layers.forEachConvolution(shape: shape) { conv, g in
            most = max(most, conv.scratchCount(g, workers: workers, chunkBytes: chunkBytes))
        } transposed: { g in
            most = max(most, TransposedConv2D.preferredScratchCount(g, chunkBytes: chunkBytes))
        }
        return most
    }

    /// Plans `shape`; reuses `reusing`'s memory when it is large enough (a daemon denoising images of
    /// varying sizes then allocates and page-faults its buffers only when an image is larger than any before).
    init(_ layers: UNetLayers, shape: TensorShape, chunkBytes: Int, reusing previous: AlignedBuffer? = nil) {
        self.shape = shape
        let plan = Self.plan(layers, shape: shape, chunkBytes: chunkBytes)
        if let previous, previous.count >= plan.totalFloats {
            storage = previous
        } else {
            storage = AlignedBuffer(count: plan.totalFloats)
        }
        let base = storage.pointer
        input = base + plan.input
        output = base + plan.output
        main = plan.main.map { base + $0 }
        wide = plan.wide.map { base + $0 }
        hidden = plan.hidden.map { base + $0 }
        scratch = UnsafeMutableBufferPointer(start: base + plan.scratch, count: plan.scratchCount)
        overlaid = plan.overlaid
    }

    var byteCount: Int { storage.count * MemoryLayout<Float>.stride }
}

extension UNetLayers {
    /// Visits every convolution with its geometry for a network input of `shape`, in execution order.
    func forEachConvolution(shape: TensorShape,
                            _ body: (PlannedConvolution, ConvolutionGeometry) -> Void,
                            transposed: (TransposedConvolutionGeometry) -> Void) {
        func at(_ level: Int) -> (Int, Int) { (shape.height >> (level - 1), shape.width >> (level - 1)) }
        func block(_ b: ResidualBlockLayers, _ level: Int) {
            let (h, w) = at(level)
            if let p = b.projection { body(p, p.geometry(batch: shape.batch, height: h, width: w)) }
            body(b.conv1, b.conv1.geometry(batch: shape.batch, height: h, width: w))
            body(b.conv2, b.conv2.geometry(batch: shape.batch, height: h, width: w))
        }
        for e in encoder {
            let (h, w) = e.level == 1 ? at(1) : at(e.level - 1)
            body(e.entry, e.entry.geometry(batch: shape.batch, height: h, width: w))
            e.blocks.forEach { block($0, e.level) }
        }
        bottom.forEach { block($0, architecture.depth) }
        for d in decoder {
            let (h, w) = at(d.level + 1)
            transposed(TransposedConvolutionGeometry(batch: shape.batch, height: h, width: w,
                                                     inputChannels: d.upsample.inputChannels,
                                                     outputChannels: d.upsample.outputChannels))
            d.blocks.forEach { block($0, d.level) }
        }
        let (h, w) = at(1)
        body(outConv, outConv.geometry(batch: shape.batch, height: h, width: w))
    }

    /// Multiply-accumulates of all convolutions for one forward pass over `shape` (FLOPs = 2 × this).
    func multiplyAccumulates(shape: TensorShape) -> Int {
        var macs = 0
        forEachConvolution(shape: shape) { _, g in macs += g.multiplyAccumulates } transposed: { macs += $0.multiplyAccumulates }
        return macs
    }
}
