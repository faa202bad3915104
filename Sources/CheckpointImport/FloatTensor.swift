/// A dense float32 tensor: shape plus row-major values, in the layout TensorFlow uses for the named
/// variable (conv kernels HWIO `[kh, kw, in, out]`, transposed-conv kernels `[kh, kw, out, in]`).
public struct FloatTensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }

    public init(shape: [Int], repeating value: Float) {
        self.init(shape: shape, values: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    public var count: Int { values.count }
}
