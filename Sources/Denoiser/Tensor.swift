/// The shape of an NHWC activation tensor: `batch × height × width × channels`, channels fastest.
public struct TensorShape: Hashable, Sendable, CustomStringConvertible {
    public var batch: Int
    public var height: Int
    public var width: Int
    public var channels: Int

    public init(batch: Int = 1, height: Int, width: Int, channels: Int) {
        precondition(batch >= 0 && height >= 0 && width >= 0 && channels >= 0,
                     "negative tensor dimension \([batch, height, width, channels])")
        self.batch = batch
        self.height = height
        self.width = width
        self.channels = channels
    }

    /// `[N, H, W, C]` as an array (the order TensorFlow prints).
    public init(_ dims: [Int]) {
        precondition(dims.count == 4, "an NHWC shape needs 4 dimensions, got \(dims)")
        self.init(batch: dims[0], height: dims[1], width: dims[2], channels: dims[3])
    }

    public var dimensions: [Int] { [batch, height, width, channels] }
    /// Number of pixels over the whole batch (`N·H·W`), i.e. the GEMM row count of a convolution.
    public var pixelCount: Int { batch * height * width }
    public var count: Int { batch * height * width * channels }
    public var description: String { "[\(batch), \(height), \(width), \(channels)]" }

    /// Same batch/height/width, other channel count.
    public func with(channels: Int) -> TensorShape {
        TensorShape(batch: batch, height: height, width: width, channels: channels)
    }
}

/// A contiguous NHWC float32 tensor with value semantics.
///
/// This is the exchange type of the numeric core (tests, the trainer, the public engine API). The hot paths
/// do not allocate `Tensor`s: the ops are pointer-based functions (`Conv2D.forward(…)` etc.) that work on
/// caller-owned memory, and the inference engine runs them on buffers it planned once per input shape
/// (`InferenceWorkspace`). Each op also has an allocating `Tensor` convenience used by tests and the trainer.
public struct Tensor: Sendable, Equatable {
    public var shape: TensorShape
    /// `shape.count` values, N-H-W-C order (channels fastest).
    public var values: [Float]

    public init(shape: TensorShape, values: [Float]) {
        precondition(values.count == shape.count, "\(values.count) values do not fill shape \(shape)")
        self.shape = shape
        self.values = values
    }

    public init(shape: TensorShape, repeating value: Float = 0) {
        self.init(shape: shape, values: [Float](repeating: value, count: shape.count))
    }

    /// A single image `height × width × channels` as a batch of one.
    public init(height: Int, width: Int, channels: Int, values: [Float]) {
        self.init(shape: TensorShape(height: height, width: width, channels: channels), values: values)
    }

    public var count: Int { values.count }

    /// Flat index of element (n, y, x, c).
    @inline(__always)
    public func index(_ n: Int, _ y: Int, _ x: Int, _ c: Int) -> Int {
        ((n * shape.height + y) * shape.width + x) * shape.channels + c
    }

    public subscript(n: Int, y: Int, x: Int, c: Int) -> Float {
        get { values[index(n, y, x, c)] }
        set { values[index(n, y, x, c)] = newValue }
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try values.withUnsafeBufferPointer(body)
    }

    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try values.withUnsafeMutableBufferPointer(body)
    }
}
