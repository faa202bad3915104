import Foundation

/// im2col for NHWC: gathers, for a range of output pixels, each pixel's receptive field into one row of
/// `k·k·Cin` values ordered (ky, kx, c), zeros where the field leaves the input (TF 'same' padding).
/// With that order the HWIO kernel `[k, k, Cin, Cout]` is, unchanged, the row-major `[k·k·Cin, Cout]`
/// right-hand side of the GEMM. The trainer's col2im (input gradient) is the adjoint of this map.
public enum Im2Col {
    /// Writes rows for output pixels `pixels` (flat over the batch, row-major) to `columns`
    /// (`pixels.count × geometry.patchLength`, dense). `inputPixelStride` ≥ Cin lets the input be a channel
    /// slice of a wider buffer.
    public static func gather(
        _ geometry: ConvolutionGeometry, input: UnsafePointer<Float>, inputPixelStride: Int? = nil,
        pixels: Range<Int>, columns: UnsafeMutablePointer<Float>
    ) {
        let g = geometry
        let cin = g.inputChannels
        let stride = inputPixelStride ?? cin
        let k = g.kernelSize
        let rowLength = g.patchLength
        let runLength = k &* cin  // one kernel row (kx = 0..<k) of a patch
        let contiguousRun = stride == cin
        let outPerImage = g.outputHeight &* g.outputWidth
        for p in pixels {
            let n = p / outPerImage
            let rem = p &- n &* outPerImage
            let oy = rem / g.outputWidth
            let ox = rem &- oy &* g.outputWidth
            let row = columns + (p &- pixels.lowerBound) &* rowLength
            let x0 = ox &* g.stride &- g.padLeft
            let imageBase = input + n &* g.inputHeight &* g.inputWidth &* stride
            for ky in 0..<k {
                let y = oy &* g.stride &- g.padTop &+ ky
                let dst = row + ky &* runLength
                if y < 0 || y >= g.inputHeight {
                    dst.update(repeating: 0, count: runLength)
                    continue
                }
                let lineBase = imageBase + y &* g.inputWidth &* stride
                if contiguousRun && x0 >= 0 && x0 &+ k <= g.inputWidth {
                    dst.update(from: lineBase + x0 &* cin, count: runLength)
                } else {
                    for kx in 0..<k {
                        let x = x0 &+ kx
                        let d = dst + kx &* cin
                        if x < 0 || x >= g.inputWidth {
                            d.update(repeating: 0, count: cin)
                        } else {
                            d.update(from: lineBase + x &* stride, count: cin)
                        }
                    }
                }
            }
        }
    }
}
