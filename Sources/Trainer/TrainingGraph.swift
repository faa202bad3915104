import CheckpointImport
import Denoiser

/// What the backward pass needs from one residual block's forward.
struct ResidualBlockCache {
    var input: Tensor
    var activated1: Tensor
    var statistics1: BatchNormStatistics
    var convolution1: Tensor
    var activated2: Tensor
    var statistics2: BatchNormStatistics
}

/// Every intermediate of one training-mode forward pass, plus each batch norm's statistics in forward order
/// (for the moving averages and for parity checks).
struct PassCache {
    var input: Tensor
    var downsamplingInputs: [Tensor?] = []
    var encoderBlocks: [[ResidualBlockCache]] = []
    var bottomBlocks: [ResidualBlockCache] = []
    var upsamplingInputs: [Tensor] = []
    var decoderBlocks: [[ResidualBlockCache]] = []
    var headInput: Tensor? = nil
    var headOutput: Tensor? = nil
    var headStatistics: BatchNormStatistics? = nil
    var statistics: [(slots: BatchNormSlots, statistics: BatchNormStatistics)] = []
}

/// The U-Net forward (training or inference mode) and backward, layer by layer (`reference-model.md`
/// §1.3–1.4). The forward runs the inference engine's ops (`Conv2D`, `TransposedConv2D`, `Concat`, `Add`);
/// the backward runs their `+Backward` extensions. Parameters and gradients are indexed like
/// `ModelArchitecture.parameterSpecs`.
struct TrainingGraph {
    let layout: NetworkLayout
    var batchNormEpsilon: Float
    var threads: Int
    var weightGradientAlgorithm: ConvolutionAlgorithm = .automatic
    /// Scratch of the backward convolutions, kept across calls and steps.
    let scratch = TrainingScratch()

    // MARK: forward

    /// Training mode: batch norms use batch statistics and the returned cache holds what `backward` needs.
    /// Inference mode: moving statistics, no cache.
    func forward(_ x: Tensor, parameters p: [FloatTensor], training: Bool) -> (Tensor, PassCache?) {
        var cache: PassCache? = training ? PassCache(input: x) : nil
        var h = Conv2D.forward(x, kernel: p[layout.firstConvolution], threads: threads)
        var skips: [Tensor] = []
        for (i, level) in layout.encoder.enumerated() {
            if let down = level.downsampling {
                cache?.downsamplingInputs.append(h)
                h = Conv2D.forward(h, kernel: p[down.kernel], bias: p[down.bias].values, stride: 2, threads: threads)
            } else {
                cache?.downsamplingInputs.append(nil)
            }
            var blockCaches: [ResidualBlockCache] = []
            for block in level.blocks { h = residual(h, block, p, training: training, cache: &blockCaches, passCache: &cache) }
            cache?.encoderBlocks.append(blockCaches)
            if i < layout.encoder.count - 1 { skips.append(h) }
        }
        var bottomCaches: [ResidualBlockCache] = []
        for block in layout.bottom { h = residual(h, block, p, training: training, cache: &bottomCaches, passCache: &cache) }
        cache?.bottomBlocks = bottomCaches
        for level in layout.decoder {
            cache?.upsamplingInputs.append(h)
            h = TransposedConv2D.forward(h, kernel: p[level.upsampling.kernel], bias: p[level.upsampling.bias].values,
                                         threads: threads)
            h = Concat.forward(h, skips[level.level - 1], threads: threads)
            var blockCaches: [ResidualBlockCache] = []
            for block in level.blocks { h = residual(h, block, p, training: training, cache: &blockCaches, passCache: &cache) }
            cache?.decoderBlocks.append(blockCaches)
        }
        let (activated, stats) = batchNorm(h, layout.outputBatchNorm, p, training: training, passCache: &cache)
        cache?.headInput = h
        cache?.headOutput = activated
        cache?.headStatistics = stats
        let out = Conv2D.forward(activated, kernel: p[layout.outputConvolution], threads: threads)
        return (out, cache)
    }

    private func batchNorm(
        _ x: Tensor, _ slots: BatchNormSlots, _ p: [FloatTensor], training: Bool, passCache: inout PassCache?
    ) -> (Tensor, BatchNormStatistics?) {
        if training {
            let (y, stats) = BatchNorm.trainingForwardReLU(
                x, gamma: p[slots.gamma].values, beta: p[slots.beta].values, epsilon: batchNormEpsilon, threads: threads)
            passCache?.statistics.append((slots, stats))
            return (y, stats)
        }
        return (BatchNorm.inferenceForwardReLU(
            x, gamma: p[slots.gamma].values, beta: p[slots.beta].values, movingMean: p[slots.movingMean].values,
            movingVariance: p[slots.movingVariance].values, epsilon: batchNormEpsilon, threads: threads), nil)
    }

    /// Pre-activation residual block: a₁ = ReLU(BN₁(x)); shortcut = x, or conv1×1(a₁) when the width
    /// changes; out = shortcut + conv₂(ReLU(BN₂(conv₁(a₁)))).
    private func residual(
        _ x: Tensor, _ b: ResidualBlockSlots, _ p: [FloatTensor], training: Bool,
        cache: inout [ResidualBlockCache], passCache: inout PassCache?
    ) -> Tensor {
        let (a1, s1) = batchNorm(x, b.batchNorm1, p, training: training, passCache: &passCache)
        let shortcut = b.projection.map { Conv2D.forward(a1, kernel: p[$0], threads: threads) } ?? x
        let c1 = Conv2D.forward(a1, kernel: p[b.convolution1], threads: threads)
        let (a2, s2) = batchNorm(c1, b.batchNorm2, p, training: training, passCache: &passCache)
        let c2 = Conv2D.forward(a2, kernel: p[b.convolution2], threads: threads)
        if training, let s1, let s2 {
            cache.append(ResidualBlockCache(input: x, activated1: a1, statistics1: s1, convolution1: c1,
                                            activated2: a2, statistics2: s2))
        }
        return Add.forward(shortcut, c2, threads: threads)
    }

    // MARK: backward

    /// Accumulates ∂L/∂parameters into `g` given ∂L/∂output of a pass run in training mode. The input
    /// gradient of the first convolution is never formed (nothing upstream is trained).
    func backward(_ dOut: Tensor, cache: PassCache, parameters p: [FloatTensor], gradients g: inout [[Float]]) {
        guard let headInput = cache.headInput, let headOutput = cache.headOutput, let headStats = cache.headStatistics
        else { preconditionFailure("backward needs a training-mode cache") }
        var dh = convolutionBackward(headOutput, dOut, layout.outputConvolution, p, &g)!
        dh = batchNormBackward(headInput, headOutput, dh, layout.outputBatchNorm, headStats, p, &g)

        var skipGradients = [Tensor?](repeating: nil, count: layout.encoder.count)
        for (d, level) in layout.decoder.enumerated().reversed() {
            for (block, blockCache) in zip(level.blocks, cache.decoderBlocks[d]).reversed() {
                dh = residualBackward(dh, block, blockCache, p, &g)
            }
            let upsampledChannels = layout.architecture.filters(atLevel: level.level)
            let (dUp, dSkip) = Concat.backward(dh, firstChannels: upsampledChannels)
            skipGradients[level.level - 1] = dSkip
            let up = TransposedConv2D.backward(
                input: cache.upsamplingInputs[d], outputGradient: dUp, kernel: p[level.upsampling.kernel],
                kernelGradient: &g[level.upsampling.kernel], threads: threads)
            Self.accumulate(up.bias, into: &g[level.upsampling.bias])
            dh = up.input
        }
        for (block, blockCache) in zip(layout.bottom, cache.bottomBlocks).reversed() {
            dh = residualBackward(dh, block, blockCache, p, &g)
        }
        for (i, level) in layout.encoder.enumerated().reversed() {
            if let dSkip = skipGradients[i] { Add.accumulate(&dh, dSkip) }
            for (block, blockCache) in zip(level.blocks, cache.encoderBlocks[i]).reversed() {
                dh = residualBackward(dh, block, blockCache, p, &g)
            }
            if let down = level.downsampling, let input = cache.downsamplingInputs[i] {
                let result = Conv2D.backward(input: input, outputGradient: dh, kernel: p[down.kernel], stride: 2,
                                             kernelGradient: &g[down.kernel], scratch: scratch, threads: threads)
                Self.accumulate(result.bias, into: &g[down.bias])
                dh = result.input!
            }
        }
        _ = convolutionBackward(cache.input, dh, layout.firstConvolution, p, &g, needInput: false)
    }

    private func residualBackward(
        _ dOut: Tensor, _ b: ResidualBlockSlots, _ c: ResidualBlockCache, _ p: [FloatTensor], _ g: inout [[Float]]
    ) -> Tensor {
        var d = convolutionBackward(c.activated2, dOut, b.convolution2, p, &g)!
        d = batchNormBackward(c.convolution1, c.activated2, d, b.batchNorm2, c.statistics2, p, &g)
        var dA1 = convolutionBackward(c.activated1, d, b.convolution1, p, &g)!
        if let projection = b.projection {
            Add.accumulate(&dA1, convolutionBackward(c.activated1, dOut, projection, p, &g)!)
        }
        var dx = batchNormBackward(c.input, c.activated1, dA1, b.batchNorm1, c.statistics1, p, &g)
        if b.projection == nil { Add.accumulate(&dx, dOut) }
        return dx
    }

    private func convolutionBackward(
        _ x: Tensor, _ dy: Tensor, _ kernel: Int, _ p: [FloatTensor], _ g: inout [[Float]], needInput: Bool = true
    ) -> Tensor? {
        Conv2D.backward(input: x, outputGradient: dy, kernel: p[kernel], kernelGradient: &g[kernel],
                        needInputGradient: needInput, weightGradientAlgorithm: weightGradientAlgorithm,
                        scratch: scratch, threads: threads).input
    }

    private func batchNormBackward(
        _ x: Tensor, _ y: Tensor, _ dy: Tensor, _ slots: BatchNormSlots, _ stats: BatchNormStatistics,
        _ p: [FloatTensor], _ g: inout [[Float]]
    ) -> Tensor {
        let result = BatchNorm.trainingBackwardReLU(
            input: x, output: y, outputGradient: dy, gamma: p[slots.gamma].values, statistics: stats, threads: threads)
        Self.accumulate(result.gamma, into: &g[slots.gamma])
        Self.accumulate(result.beta, into: &g[slots.beta])
        return result.input
    }

    private static func accumulate(_ values: [Float], into gradient: inout [Float]) {
        for k in 0..<values.count { gradient[k] += values[k] }
    }
}
