import CheckpointImport
import Denoiser

/// The Winograd-domain kernels of one training step: for every 3×3 convolution (all stride 1 in this
/// network) that `ConvolutionAlgorithm.automatic` runs by Winograd, U = G g Gᵀ of the kernel (forward) and
/// of its flipped, in/out-transposed copy (input gradient).
///
/// The parameters do not change during a step, so these are computed once per step for both passes instead
/// of once per convolution call (4 times per kernel and step), and the transforms of different layers run
/// concurrently: each is a small single-threaded GEMM (36·9·Cin·Cout multiply-adds, 14 % of the convolution
/// itself for the 384-channel layers at batch 4) that otherwise left the second core idle.
struct StepWinogradKernels {
    private(set) var forward: [Int: WinogradKernel] = [:]
    private(set) var inputGradient: [Int: WinogradKernel] = [:]

    init(parameters p: [FloatTensor], specs: [ParameterSpec], threads: Int) {
        // (parameter index, flipped?, variant)
        var jobs: [(index: Int, flipped: Bool, variant: WinogradVariant)] = []
        for (i, spec) in specs.enumerated() where spec.role == .kernel && spec.shape.count == 4 && spec.shape[0] == 3 && spec.shape[1] == 3 {
            let cin = spec.shape[2], cout = spec.shape[3]
            let g = ConvolutionGeometry(height: 1, width: 1, inputChannels: cin, outputChannels: cout, kernelSize: 3)
            let flippedGeometry = ConvolutionGeometry(height: 1, width: 1, inputChannels: cout, outputChannels: cin, kernelSize: 3)
            if let v = ConvolutionAlgorithm.automatic.winogradVariant(for: g) { jobs.append((i, false, v)) }
            if let v = ConvolutionAlgorithm.automatic.winogradVariant(for: flippedGeometry) { jobs.append((i, true, v)) }
        }
        // Largest first so that the two workers finish together.
        jobs.sort { p[$0.index].count > p[$1.index].count }
        var results = [WinogradKernel?](repeating: nil, count: jobs.count)
        let workers = max(1, min(threads, jobs.count))
        results.withUnsafeMutableBufferPointer { slots in
            Parallel.forWorkers(workers) { w in  // each worker fills its own slots
                var j = w
                while j < jobs.count {
                    let job = jobs[j]
                    let kernel = job.flipped ? Conv2D.flippedTransposed(p[job.index]) : p[job.index]
                    slots[j] = WinogradKernel.make(variant: job.variant, kernel: kernel.values,
                                                 inputChannels: kernel.shape[2], outputChannels: kernel.shape[3])
                    j += workers
                }
            }
        }
        for (job, kernel) in zip(jobs, results) {
            if job.flipped { inputGradient[job.index] = kernel } else { forward[job.index] = kernel }
        }
    }
}

extension WinogradConv2D {
    /// Allocating 3×3 stride-1 'same' convolution with a precomputed Winograd kernel and borrowed scratch.
    static func forward(_ x: Tensor, kernel: WinogradKernel, scratch: TrainingScratch, threads: Int) -> Tensor {
        let g = ConvolutionGeometry(batch: x.shape.batch, height: x.shape.height, width: x.shape.width,
                                    inputChannels: kernel.inputChannels, outputChannels: kernel.outputChannels, kernelSize: 3)
        precondition(x.shape.channels == kernel.inputChannels, "Winograd kernel \(kernel.inputChannels)→\(kernel.outputChannels) on \(x.shape)")
        let workers = max(threads, 1)
        var out = Tensor(shape: g.outputShape)
        let buffer = scratch.buffer(count: scratchCount(g, variant: kernel.variant, workers: workers))
        x.values.withUnsafeBufferPointer { xp in
            out.values.withUnsafeMutableBufferPointer { op in
                forward(g, input: xp.baseAddress!, kernel: kernel, bias: nil, output: op.baseAddress!,
                        scratch: buffer, threads: workers)
            }
        }
        return out
    }
}
