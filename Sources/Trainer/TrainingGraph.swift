/// What the backward pass needs from one residual block's forward.
struct ResidualBlockCache {
    var input: Activation
    var activated1: Activation
    var statistics1: BatchNormStatistics
    var convolution1: Activation
    var activated2: Activation
    var statistics2: BatchNormStatistics
}

/// Every intermediate of one forward pass in training mode, plus the batch statistics of each batch norm
/// (in forward order, for the moving averages and for parity checks).
struct PassCache {
    var input: Activation
    var downsamplingInputs: [Activation?] = []
    var encoderBlocks: [[ResidualBlockCache]] = []
    var bottomBlocks: [ResidualBlockCache] = []
    var upsamplingInputs: [Activation] = []
    var decoderBlocks: [[ResidualBlockCache]] = []
    var headInput: Activation? = nil
    var headOutput: Activation? = nil
    var headStatistics: BatchNormStatistics? = nil
    var statistics: [(slots: BatchNormSlots, statistics: BatchNormStatistics)] = []
}

/// The U-Net forward (training or inference mode) and backward, written out layer by layer
/// (`reference-model.md` §1.3–1.4). Parameters and gradients are flat arrays indexed like
/// `ModelArchitecture.parameterSpecs`.
struct TrainingGraph {
    let layout: NetworkLayout
    var batchNormEpsilon: Float = BatchNormReLU.fusedEpsilon

    // MARK: forward

    /// Runs the network. In training mode batch norms use batch statistics and the returned cache holds what
    /// `backward` needs; in inference mode they use the moving statistics and no cache is kept.
    func forward(_ x: Activation, parameters p: [[Float]], training: Bool) -> (Activation, PassCache?) {
        var cache: PassCache? = training ? PassCache(input: x) : nil
        let arch = layout.architecture
        var h = Convolution.forward(x, kernel: p[layout.firstConvolution], size: 3, outputChannels: arch.baseFilters)
        var skips: [Activation] = []
        for (i, level) in layout.encoder.enumerated() {
            if let down = level.downsampling {
                cache?.downsamplingInputs.append(h)
                h = DownsamplingConvolution.forward(h, kernel: p[down.kernel], bias: p[down.bias])
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
            h = TransposedConvolution.forward(h, kernel: p[level.upsampling.kernel], bias: p[level.upsampling.bias])
            h = ChannelOps.concat(h, skips[level.level - 1])
            var blockCaches: [ResidualBlockCache] = []
            for block in level.blocks { h = residual(h, block, p, training: training, cache: &blockCaches, passCache: &cache) }
            cache?.decoderBlocks.append(blockCaches)
        }
        let bn = layout.outputBatchNorm
        let activated: Activation
        if training {
            let (y, stats) = BatchNormReLU.forwardTraining(h, gamma: p[bn.gamma], beta: p[bn.beta], epsilon: batchNormEpsilon)
            activated = y
            cache?.headInput = h
            cache?.headOutput = y
            cache?.headStatistics = stats
            cache?.statistics.append((bn, stats))
        } else {
            activated = BatchNormReLU.forwardInference(
                h, gamma: p[bn.gamma], beta: p[bn.beta], movingMean: p[bn.movingMean],
                movingVariance: p[bn.movingVariance], epsilon: batchNormEpsilon)
        }
        let out = Convolution.forward(activated, kernel: p[layout.outputConvolution], size: 1, outputChannels: arch.inputChannels)
        return (out, cache)
    }

    private func batchNorm(
        _ x: Activation, _ slots: BatchNormSlots, _ p: [[Float]], training: Bool, passCache: inout PassCache?
    ) -> (Activation, BatchNormStatistics?) {
        if training {
            let (y, stats) = BatchNormReLU.forwardTraining(x, gamma: p[slots.gamma], beta: p[slots.beta], epsilon: batchNormEpsilon)
            passCache?.statistics.append((slots, stats))
            return (y, stats)
        }
        return (BatchNormReLU.forwardInference(
            x, gamma: p[slots.gamma], beta: p[slots.beta], movingMean: p[slots.movingMean],
            movingVariance: p[slots.movingVariance], epsilon: batchNormEpsilon), nil)
    }

    /// Pre-activation residual block: h = ReLU(BN₁(x)); shortcut = x or conv1×1(h); out = shortcut +
    /// conv₂(ReLU(BN₂(conv₁(h)))).
    private func residual(
        _ x: Activation, _ b: ResidualBlockSlots, _ p: [[Float]], training: Bool,
        cache: inout [ResidualBlockCache], passCache: inout PassCache?
    ) -> Activation {
        let (a1, s1) = batchNorm(x, b.batchNorm1, p, training: training, passCache: &passCache)
        let shortcut = b.projection.map {
            Convolution.forward(a1, kernel: p[$0], size: 1, outputChannels: b.outputChannels)
        } ?? x
        let c1 = Convolution.forward(a1, kernel: p[b.convolution1], size: 3, outputChannels: b.outputChannels)
        let (a2, s2) = batchNorm(c1, b.batchNorm2, p, training: training, passCache: &passCache)
        let c2 = Convolution.forward(a2, kernel: p[b.convolution2], size: 3, outputChannels: b.outputChannels)
        if training, let s1, let s2 {
            cache.append(ResidualBlockCache(input: x, activated1: a1, statistics1: s1, convolution1: c1,
                                            activated2: a2, statistics2: s2))
        }
        return ChannelOps.add(shortcut, c2)
    }

    // MARK: backward

    /// Accumulates ∂L/∂parameters into `g` given ∂L/∂output of a pass run in training mode.
    func backward(_ dOut: Activation, cache: PassCache, parameters p: [[Float]], gradients g: inout [[Float]]) {
        let bn = layout.outputBatchNorm
        guard let headInput = cache.headInput, let headOutput = cache.headOutput, let headStats = cache.headStatistics
        else { preconditionFailure("backward needs a training-mode cache") }
        var dh = Convolution.backward(
            input: headOutput, outputGradient: dOut, kernel: p[layout.outputConvolution], size: 1,
            kernelGradient: &g[layout.outputConvolution])!
        dh = batchNormBackward(headInput, headOutput, dh, bn, headStats, p, &g)

        var skipGradients = [Activation?](repeating: nil, count: layout.encoder.count)
        for (d, level) in layout.decoder.enumerated().reversed() {
            for (block, blockCache) in zip(level.blocks, cache.decoderBlocks[d]).reversed() {
                dh = residualBackward(dh, block, blockCache, p, &g)
            }
            let upsampledChannels = layout.architecture.filters(atLevel: level.level)
            let (dUp, dSkip) = ChannelOps.split(dh, firstChannels: upsampledChannels)
            skipGradients[level.level - 1] = dSkip
            let up = TransposedConvolution.backward(
                input: cache.upsamplingInputs[d], outputGradient: dUp, kernel: p[level.upsampling.kernel],
                kernelGradient: &g[level.upsampling.kernel])
            Self.accumulate(up.bias, into: &g[level.upsampling.bias])
            dh = up.input
        }
        for (block, blockCache) in zip(layout.bottom, cache.bottomBlocks).reversed() {
            dh = residualBackward(dh, block, blockCache, p, &g)
        }
        for (i, level) in layout.encoder.enumerated().reversed() {
            if let dSkip = skipGradients[i] { ChannelOps.addInPlace(&dh, dSkip) }
            for (block, blockCache) in zip(level.blocks, cache.encoderBlocks[i]).reversed() {
                dh = residualBackward(dh, block, blockCache, p, &g)
            }
            if let down = level.downsampling, let input = cache.downsamplingInputs[i] {
                let result = DownsamplingConvolution.backward(
                    input: input, outputGradient: dh, kernel: p[down.kernel], kernelGradient: &g[down.kernel])
                Self.accumulate(result.bias, into: &g[down.bias])
                dh = result.input
            }
        }
        _ = Convolution.backward(
            input: cache.input, outputGradient: dh, kernel: p[layout.firstConvolution], size: 3,
            kernelGradient: &g[layout.firstConvolution], needInputGradient: false)
    }

    private func residualBackward(
        _ dOut: Activation, _ b: ResidualBlockSlots, _ c: ResidualBlockCache, _ p: [[Float]], _ g: inout [[Float]]
    ) -> Activation {
        var d = Convolution.backward(
            input: c.activated2, outputGradient: dOut, kernel: p[b.convolution2], size: 3,
            kernelGradient: &g[b.convolution2])!
        d = batchNormBackward(c.convolution1, c.activated2, d, b.batchNorm2, c.statistics2, p, &g)
        var dA1 = Convolution.backward(
            input: c.activated1, outputGradient: d, kernel: p[b.convolution1], size: 3,
            kernelGradient: &g[b.convolution1])!
        if let projection = b.projection {
            let dShortcut = Convolution.backward(
                input: c.activated1, outputGradient: dOut, kernel: p[projection], size: 1,
                kernelGradient: &g[projection])!
            ChannelOps.addInPlace(&dA1, dShortcut)
        }
        var dx = batchNormBackward(c.input, c.activated1, dA1, b.batchNorm1, c.statistics1, p, &g)
        if b.projection == nil { ChannelOps.addInPlace(&dx, dOut) }
        return dx
    }

    private func batchNormBackward(
        _ x: Activation, _ y: Activation, _ dy: Activation, _ slots: BatchNormSlots, _ stats: BatchNormStatistics,
        _ p: [[Float]], _ g: inout [[Float]]
    ) -> Activation {
        let result = BatchNormReLU.backwardTraining(
            input: x, output: y, outputGradient: dy, gamma: p[slots.gamma], statistics: stats)
        Self.accumulate(result.gamma, into: &g[slots.gamma])
        Self.accumulate(result.beta, into: &g[slots.beta])
        return result.input
    }

    private static func accumulate(_ values: [Float], into gradient: inout [Float]) {
        for k in 0..<values.count { gradient[k] += values[k] }
    }
}
