import Denoiser

extension Concat {
    /// The adjoint of `Concat.forward`: splits a gradient of `[first | second]` back into its two parts.
    static func backward(_ gradient: Tensor, firstChannels c1: Int) -> (first: Tensor, second: Tensor) {
        let width = gradient.shape.channels, c2 = width - c1
        var first = Tensor(shape: gradient.shape.with(channels: c1))
        var second = Tensor(shape: gradient.shape.with(channels: c2))
        gradient.values.withUnsafeBufferPointer { src in
            first.values.withUnsafeMutableBufferPointer { f in
                second.values.withUnsafeMutableBufferPointer { s in
                    for q in 0..<gradient.shape.pixelCount {
                        let row: UnsafePointer<Float> = src.baseAddress! + q &* width
                        (f.baseAddress! + q &* c1).update(from: row, count: c1)
                        (s.baseAddress! + q &* c2).update(from: row + c1, count: c2)
                    }
                }
            }
        }
        return (first, second)
    }
}

extension Add {
    /// a += b (gradient accumulation where a tensor feeds two consumers).
    static func accumulate(_ a: inout Tensor, _ b: Tensor) {
        precondition(a.shape == b.shape, "add: \(a.shape) vs \(b.shape)")
        a.values.withUnsafeMutableBufferPointer { o in
            b.values.withUnsafeBufferPointer { bp in for i in 0..<o.count { o[i] += bp[i] } }
        }
    }
}
