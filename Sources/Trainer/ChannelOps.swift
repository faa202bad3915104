/// Element-wise add, channel concatenation and its adjoint (the U-Net's skip connections).
enum ChannelOps {
    static func add(_ a: Activation, _ b: Activation) -> Activation {
        precondition(a.count == b.count)
        var out = a
        out.data.withUnsafeMutableBufferPointer { o in
            b.data.withUnsafeBufferPointer { bp in for i in 0..<o.count { o[i] += bp[i] } }
        }
        return out
    }

    static func addInPlace(_ a: inout Activation, _ b: Activation) {
        precondition(a.count == b.count)
        a.data.withUnsafeMutableBufferPointer { o in
            b.data.withUnsafeBufferPointer { bp in for i in 0..<o.count { o[i] += bp[i] } }
        }
    }

    /// concat([first, second], channel axis), first's channels first (the reference puts the upsampled tensor first).
    static func concat(_ first: Activation, _ second: Activation) -> Activation {
        precondition(first.pixels == second.pixels)
        let c1 = first.channels, c2 = second.channels
        var out = first.zerosLike(channels: c1 + c2)
        out.data.withUnsafeMutableBufferPointer { o in
            first.data.withUnsafeBufferPointer { f in
                second.data.withUnsafeBufferPointer { s in
                    let width = c1 + c2
                    for q in 0..<first.pixels {
                        let row: UnsafeMutablePointer<Float> = o.baseAddress! + q &* width
                        row.update(from: f.baseAddress! + q &* c1, count: c1)
                        (row + c1).update(from: s.baseAddress! + q &* c2, count: c2)
                    }
                }
            }
        }
        return out
    }

    /// Splits a concatenated gradient back into its two parts.
    static func split(_ t: Activation, firstChannels c1: Int) -> (Activation, Activation) {
        let c2 = t.channels - c1
        var first = t.zerosLike(channels: c1), second = t.zerosLike(channels: c2)
        t.data.withUnsafeBufferPointer { src in
            first.data.withUnsafeMutableBufferPointer { f in
                second.data.withUnsafeMutableBufferPointer { s in
                    let width = t.channels
                    for q in 0..<t.pixels {
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
