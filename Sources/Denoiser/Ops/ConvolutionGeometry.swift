/// Sizes and TF-'same' padding of one 2-D convolution over an NHWC batch (square kernel, equal strides).
///
/// TensorFlow 'same': `out = ceil(in / stride)`, total padding `max((out − 1)·stride + k − in, 0)`, of which
/// `floor(total / 2)` goes before (top/left) and the rest after. So 3×3/stride 1 pads 1 on each side, 1×1
/// pads nothing, and 2×2/stride 2 pads nothing on even sizes and **one row/column at the bottom/right only**
/// on odd sizes (reference-model.md §1.2).
public struct ConvolutionGeometry: Hashable, Sendable, CustomStringConvertible {
    public var batch: Int
    public var inputHeight: Int
    public var inputWidth: Int
    public var inputChannels: Int
    public var outputChannels: Int
    public var kernelSize: Int
    public var stride: Int
    public var outputHeight: Int
    public var outputWidth: Int
    public var padTop: Int
    public var padLeft: Int

    /// TF 'same' geometry for an input of `height × width × inputChannels`.
    public init(batch: Int = 1, height: Int, width: Int, inputChannels: Int, outputChannels: Int,
                kernelSize: Int, stride: Int = 1) {
        precondition(kernelSize >= 1 && stride >= 1, "bad convolution kernel \(kernelSize) stride \(stride)")
        self.batch = batch
        self.inputHeight = height
        self.inputWidth = width
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        outputHeight = (height + stride - 1) / stride
        outputWidth = (width + stride - 1) / stride
        padTop = max((outputHeight - 1) * stride + kernelSize - height, 0) / 2
        padLeft = max((outputWidth - 1) * stride + kernelSize - width, 0) / 2
    }

    public var inputShape: TensorShape {
        TensorShape(batch: batch, height: inputHeight, width: inputWidth, channels: inputChannels)
    }
    public var outputShape: TensorShape {
        TensorShape(batch: batch, height: outputHeight, width: outputWidth, channels: outputChannels)
    }
    /// Output pixels over the batch: the GEMM's M.
    public var outputPixelCount: Int { batch * outputHeight * outputWidth }
    /// One im2col row, `k·k·Cin` values ordered (ky, kx, c): the GEMM's K and the HWIO kernel's row count.
    public var patchLength: Int { kernelSize * kernelSize * inputChannels }
    /// A 1×1 stride-1 convolution reads its input directly as the GEMM's A (no im2col).
    public var isPointwise: Bool { kernelSize == 1 && stride == 1 }
    /// Multiply-accumulates of the whole convolution.
    public var multiplyAccumulates: Int { outputPixelCount * patchLength * outputChannels }

    public var description: String {
        "conv \(kernelSize)×\(kernelSize)/\(stride) \(inputShape) → \(outputShape)"
    }
}
