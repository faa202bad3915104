/// All memory one forward pass needs for one input shape, planned once and reused for every call (and
/// every tile) with that shape: per U-Net level L (width c_L, pixels P_L = N·H/2^(L−1)·W/2^(L−1)):
///   `main[L]`  c_L   the level's running activation; the skip connection until the decoder consumes it
///   `wide[L]`  2c_L  (c_L at the deepest level) the activated concat, or the `relu(bn1(x))` of an
///                    identity residual block
///   `hidden[L]` c_L  the residual block's inner activation `relu(bn2(conv1(·)))`
/// plus the network input and output (C_in each at level 1) and one im2col scratch shared by all convolutions.
/// For the paper model that is ≈ 650 floats (2.6 KB) per input pixel + the fixed scratch.
final class InferenceWorkspace {
    let shape: TensorShape
    let storage: AlignedBuffer
    let input: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let main: [UnsafeMutablePointer<Float>]    // index level − 1
    let wide: [UnsafeMutablePointer<Float>]
    let hidden: [UnsafeMutablePointer<Float>]
    let scratch: UnsafeMutableBufferPointer<Float>

    /// Floats of each region, in allocation order; every region is rounded up to 16 floats (64 bytes).
    static func layout(_ layers: UNetLayers, shape: TensorShape, chunkBytes: Int) -> [Int] {
        let arch = layers.architecture
        func round(_ n: Int) -> Int { (n + 15) & ~15 }
        var regions = [round(shape.count), round(shape.count)]
        for level in 1...arch.depth {
            let p = shape.batch * (shape.height >> (level - 1)) * (shape.width >> (level - 1))
            let c = arch.filters(atLevel: level)
            regions += [round(p * c), round(p * (level < arch.depth ? 2 * c : c)), round(p * c)]
        }
        regions.append(round(max(scratchCount(layers, shape: shape, chunkBytes: chunkBytes), 16)))
        return regions
    }

    /// Bytes a forward pass over `shape` needs (what the tiler compares with the budget).
    static func bytes(_ layers: UNetLayers, shape: TensorShape, chunkBytes: Int) -> Int {
        layout(layers, shape: shape, chunkBytes: chunkBytes).reduce(0, +) * MemoryLayout<Float>.stride
    }

    /// The largest im2col / transposed-conv scratch any layer wants for this shape.
    static func scratchCount(_ layers: UNetLayers, shape: TensorShape, chunkBytes: Int) -> Int {
        var most = 0
        layers.forEachConvolution(shape: shape) { conv, g in
            most = max(most, Conv2D.preferredScratchCount(g, chunkBytes: chunkBytes))
        } transposed: { g in
            most = max(most, TransposedConv2D.preferredScratchCount(g, chunkBytes: chunkBytes))
        }
        return most
    }

    init(_ layers: UNetLayers, shape: TensorShape, chunkBytes: Int) {
        self.shape = shape
        let regions = Self.layout(layers, shape: shape, chunkBytes: chunkBytes)
        storage = AlignedBuffer(count: regions.reduce(0, +))
        var offset = 0
        var pointers: [UnsafeMutablePointer<Float>] = []
        for r in regions {
            pointers.append(storage.pointer + offset)
            offset += r
        }
        input = pointers[0]
        output = pointers[1]
        let depth = layers.architecture.depth
        main = (0..<depth).map { pointers[2 + 3 * $0] }
        wide = (0..<depth).map { pointers[3 + 3 * $0] }
        hidden = (0..<depth).map { pointers[4 + 3 * $0] }
        scratch = UnsafeMutableBufferPointer(start: pointers[2 + 3 * depth], count: regions.last!)
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
