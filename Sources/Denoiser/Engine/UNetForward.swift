/// The U-Net's forward pass over a planned workspace (layer order: reference-model.md §1.4).
extension UNetLayers {
    /// Runs the network on `workspace.input` (N·H·W·C_in, H and W multiples of 2^depth) into
    /// `workspace.output`. No allocation: every intermediate lives in the workspace.
    func run(_ ws: InferenceWorkspace, threads: Int) {
        let n = ws.shape.batch
        func dims(_ level: Int) -> (h: Int, w: Int, pixels: Int) {
            let h = ws.shape.height >> (level - 1), w = ws.shape.width >> (level - 1)
            return (h, w, n * h * w)
        }
        // encoder. The entry convolution also writes relu(bn1(·)) of the residual block that follows it
        // (its own first block, or the bottom block after the deepest entry) into `wide`, while its output
        // rows are in cache, so that block skips its separate batch-norm pass.
        for e in encoder {
            let L = e.level
            let next = e.blocks.first ?? (L == architecture.depth ? bottom.first : nil)
            let fused = next.map { b in
                AffineOutput(output: ws.wide[L - 1], scale: b.bn1!.scale.pointer, shift: b.bn1!.shift.pointer, relu: true)
            }
            if L == 1 {
                let d = dims(1)
                e.entry.run(batch: n, height: d.h, width: d.w, input: ws.input, output: ws.main[0],
                            epilogue: .none, scratch: ws.scratch, threads: threads, secondary: fused)
            } else {
                let d = dims(L - 1)
                e.entry.run(batch: n, height: d.h, width: d.w, input: ws.main[L - 2], output: ws.main[L - 1],
                            epilogue: .none, scratch: ws.scratch, threads: threads, secondary: fused)
            }
            for (i, b) in e.blocks.enumerated() { runIdentity(b, level: L, ws, threads: threads, bn1Applied: i == 0) }
        }
        for (i, b) in bottom.enumerated() {
            runIdentity(b, level: architecture.depth, ws, threads: threads,
                        bn1Applied: i == 0 && encoder.last?.blocks.isEmpty == true)
        }
        // decoder: upsample level L+1 into the concat of level L, then its blocks
        for dl in decoder {
            let L = dl.level, c = dl.channels
            let below = dims(L + 1), here = dims(L)
            let up = dl.upsample
            TransposedConv2D.forward(
                TransposedConvolutionGeometry(batch: n, height: below.h, width: below.w,
                                              inputChannels: up.inputChannels, outputChannels: up.outputChannels),
                input: ws.main[L], kernel: up.kernel.pointer, bias: up.bias.pointer,
                output: ws.wide[L - 1], outputPixelStride: 2 * c, relu: up.relu, scratch: ws.scratch, threads: threads,
                packedKernel: up.packedKernel)
            BatchNorm.apply(pixels: here.pixels, channels: c, input: ws.main[L - 1],
                            scale: dl.skipAffine.scale.pointer, shift: dl.skipAffine.shift.pointer, relu: true,
                            output: ws.wide[L - 1] + c, outputPixelStride: 2 * c, threads: threads)
            for (i, b) in dl.blocks.enumerated() {
                if i == 0 {
                    runProjection(b, level: L, input: ws.wide[L - 1], ws, threads: threads)
                } else {
                    runIdentity(b, level: L, ws, threads: threads)
                }
            }
        }
        // head: relu(bn(unet_out)) → 1×1 out_conv, in one pass (the activated top level is never stored)
        let top = dims(1)
        AffineReLUProjection.forward(pixels: top.pixels, channels: head.channels, outputs: outConv.outputChannels,
                                     input: ws.main[0], scale: head.scale.pointer, shift: head.shift.pointer,
                                     weights: outProjection.pointer, output: ws.output, threads: threads)
    }

    /// Identity-shortcut block in place on `main[level]`: x += conv2(relu(bn2(conv1(relu(bn1(x)))))).
    /// `bn1Applied`: the producer of `x` already wrote relu(bn1(x)) into `wide[level]`.
    private func runIdentity(_ b: ResidualBlockLayers, level: Int, _ ws: InferenceWorkspace, threads: Int,
                             bn1Applied: Bool = false) {
        let n = ws.shape.batch
        let h = ws.shape.height >> (level - 1), w = ws.shape.width >> (level - 1)
        let x = ws.main[level - 1], a = ws.wide[level - 1], hid = ws.hidden[level - 1]
        if !bn1Applied {
            let bn1 = b.bn1!
            BatchNorm.apply(pixels: n * h * w, channels: b.inputChannels, input: x, scale: bn1.scale.pointer,
                            shift: bn1.shift.pointer, relu: true, output: a, threads: threads)
        }
        b.conv1.run(batch: n, height: h, width: w, input: a, output: hid, epilogue: .init(relu: true),
                    scratch: ws.scratch, threads: threads)
        b.conv2.run(batch: n, height: h, width: w, input: hid, output: x, epilogue: .init(accumulate: true),
                    scratch: ws.scratch, threads: threads)
    }

    /// Projection block: `input` (2c channels) already holds relu(bn1(concat)); result in `main[level]`.
    private func runProjection(_ b: ResidualBlockLayers, level: Int, input a: UnsafeMutablePointer<Float>,
                               _ ws: InferenceWorkspace, threads: Int) {
        let n = ws.shape.batch
        let h = ws.shape.height >> (level - 1), w = ws.shape.width >> (level - 1)
        let out = ws.main[level - 1], hid = ws.hidden[level - 1]
        if let bn1 = b.bn1 {
            BatchNorm.apply(pixels: n * h * w, channels: b.inputChannels, input: a, scale: bn1.scale.pointer,
                            shift: bn1.shift.pointer, relu: true, output: a, threads: threads)
        }
        b.projection!.run(batch: n, height: h, width: w, input: a, output: out, epilogue: .none,
                          scratch: ws.scratch, threads: threads)
        b.conv1.run(batch: n, height: h, width: w, input: a, output: hid, epilogue: .init(relu: true),
                    scratch: ws.scratch, threads: threads)
        b.conv2.run(batch: n, height: h, width: w, input: hid, output: out, epilogue: .init(accumulate: true),
                    scratch: ws.scratch, threads: threads)
    }
}
