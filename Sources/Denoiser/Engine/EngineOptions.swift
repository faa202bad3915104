import CheckpointImport

/// How a 3×3 stride-1 convolution is computed (other convolutions always use im2col + GEMM). Each planned
/// convolution carries its algorithm and `PlannedConvolution.run` dispatches on it.
public enum ConvolutionAlgorithm: String, Sendable, Codable, CaseIterable {
    /// im2col into chunked scratch + `cblas_sgemm` (1×1 stride-1: GEMM straight on the input).
    case im2colGEMM
    /// Winograd F(2×2,3×3): 2.25× fewer multiplies, float32 error like im2col.
    case winogradF2x2
    /// Winograd F(4×4,3×3): 4× fewer multiplies, about one decimal digit more float32 error.
    case winogradF4x4
    /// Per layer by the measured rule in `winogradVariant(for:)`. Default.
    case automatic

    /// The Winograd variant to use for `g`, or nil for im2col.
    public func winogradVariant(for g: ConvolutionGeometry) -> WinogradVariant? {
        guard WinogradConv2D.supports(g) else { return nil }
        switch self {
        case .im2colGEMM: return nil
        case .winogradF2x2: return .f2x2
        case .winogradF4x4: return .f4x4
        case .automatic:
            // The first layer (1 input channel) is a memory-bound im2col with K = 9: the Winograd transforms
            // would cost more than the multiplies they save (BENCHMARKS.md, per-layer table).
            return g.inputChannels >= Self.automaticMinimumInputChannels ? .f4x4 : nil
        }
    }

    /// Below this many input channels `.automatic` keeps im2col.
    public static let automaticMinimumInputChannels = 8
}

/// How the engine uses the cores.
public enum ThreadingMode: String, Sendable, Codable, CaseIterable {
    /// OpenBLAS single-threaded; each convolution's chunks (im2col + GEMM + epilogue) are spread over
    /// `threads` workers. No BLAS threads spin while the memory-bound passes run. Default.
    case workers
    /// OpenBLAS runs `threads` threads inside each GEMM; chunks run one after another.
    case blas
}

/// Tunables of the inference engine.
public struct EngineOptions: Sendable, Equatable {
    /// Upper bound for the engine's planned memory (activation buffers + im2col / Winograd scratch) of one
    /// forward pass, in bytes. Larger images are split into tiles that fit. 1 GiB suits a 2-core/24 GB box:
    /// the paper model then runs 816×816 tiles (≈1.5 KB of activations per pixel + ≈28 MiB of Winograd
    /// scratch for two workers; a 4096×4096 image takes 36 tiles) and the process peaks near 1.3 GB RSS
    /// (workspace + weights + image in/out; measured in BENCHMARKS.md).
    public var memoryBudget: Int
    /// Worker threads for OpenBLAS (`openblas_set_num_threads`, process-wide) and the element-wise passes.
    public var threads: Int
    /// Bytes of im2col scratch per GEMM chunk (bounded so a large tile does not need a huge im2col matrix).
    public var im2colChunkBytes: Int
    /// Batch-norm ε. TensorFlow's fused kernel uses max(1e-5, 1.001e-5) = 1.001e-5 (reference-model §1.2).
    public var batchNormEpsilon: Float
    /// Algorithm for the 3×3 convolutions (see `ConvolutionAlgorithm`).
    public var convolutionAlgorithm: ConvolutionAlgorithm
    /// Caps the tile side (pixels, rounded down to a multiple of 2^depth) regardless of the budget; nil = budget
    /// decides. Mainly for tests that force many tiles.
    public var maximumTileSide: Int?
    /// Where the parallelism goes (see `ThreadingMode`). Note that OpenBLAS's thread count is process-wide:
    /// the engine sets it before every pass.
    public var threading: ThreadingMode

    public init(
        memoryBudget: Int = 1 << 30, threads: Int = Parallel.processorCount, im2colChunkBytes: Int = 16 << 20,
        batchNormEpsilon: Float = BatchNormParameters.tensorFlowFusedEpsilon,
        convolutionAlgorithm: ConvolutionAlgorithm = .automatic, maximumTileSide: Int? = nil,
        threading: ThreadingMode = .workers
    ) {
        self.threading = threading
        self.memoryBudget = memoryBudget
        self.threads = max(threads, 1)
        self.im2colChunkBytes = im2colChunkBytes
        self.batchNormEpsilon = batchNormEpsilon
        self.convolutionAlgorithm = convolutionAlgorithm
        self.maximumTileSide = maximumTileSide
    }
}

public enum InferenceError: Error, Equatable, CustomStringConvertible {
    case invalidModel(String)
    case inputShape(String)
    case channelMismatch(modelChannels: Int, imageChannels: Int)
    case emptyImage
    case cancelled

    public var description: String {
        switch self {
        case .invalidModel(let why): "cannot build the network: \(why)"
        case .inputShape(let why): "bad network input: \(why)"
        case .channelMismatch(let m, let i):
            "the model takes \(m) channel\(m == 1 ? "" : "s") but the image has \(i) "
                + "(a 1-channel model denoises any image channel by channel; a \(m)-channel model needs \(m)-channel images)"
        case .emptyImage: "the image has no pixels"
        case .cancelled: "denoising was cancelled"
        }
    }
}
