/// ReLU and addition over flat float buffers (NHWC tensors are contiguous, so these are plain loops).
public enum ReLU {
    /// `output[i] = max(input[i], 0)`; in place allowed.
    public static func forward(count: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        Parallel.forRanges(count, threads: threads, minimumChunk: 65_536) { part in
            for i in part { output[i] = max(input[i], 0) }
        }
    }

    public static func forward(_ input: Tensor, threads: Int = 1) -> Tensor {
        var out = Tensor(shape: input.shape)
        input.values.withUnsafeBufferPointer { x in
            out.values.withUnsafeMutableBufferPointer { y in
                forward(count: input.count, input: x.baseAddress!, output: y.baseAddress!, threads: threads)
            }
        }
        return out
    }
}

public enum Add {
    /// `output[i] = a[i] + b[i]`; `output` may alias `a` or `b`.
    public static func forward(count: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                               output: UnsafeMutablePointer<Float>, threads: Int) {
        Parallel.forRanges(count, threads: threads, minimumChunk: 65_536) { part in
            for i in part { output[i] = a[i] + b[i] }
        }
    }

    public static func forward(_ a: Tensor, _ b: Tensor, threads: Int = 1) -> Tensor {
        precondition(a.shape == b.shape, "add: shapes \(a.shape) and \(b.shape) differ")
        var out = Tensor(shape: a.shape)
        a.values.withUnsafeBufferPointer { x in
            b.values.withUnsafeBufferPointer { y in
                out.values.withUnsafeMutableBufferPointer { z in
                    forward(count: a.count, x.baseAddress!, y.baseAddress!, output: z.baseAddress!, threads: threads)
                }
            }
        }
        return out
    }
}
