import Foundation

/// Structural similarity (Wang et al., IEEE TIP 2004) with the standard parameters: 11×11 Gaussian window,
/// σ = 1.5, K1 = 0.01, K2 = 0.03, population (biased) local variances, averaged over every window that lies
/// fully inside the image. That is MATLAB's `ssim_index` and equals scikit-image's
/// `structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)`,
/// which filters with reflection and then drops a 5-pixel border (exactly the windows that touch it).
/// Multi-channel images: the mean of the per-channel SSIMs (scikit-image's `channel_axis` behaviour).
/// The prediction is used as given (callers clip/quantize first if they want to).
public struct SSIM: Sendable {
    public var sigma: Double = 1.5
    public var radius: Int = 5
    public var k1: Double = 0.01
    public var k2: Double = 0.03
    public var dataRange: Double = 255

    public init(dataRange: Double = 255) { self.dataRange = dataRange }

    /// The normalised 1-D Gaussian taps (2·radius + 1).
    public var taps: [Double] {
        let raw = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }

    public func callAsFunction(_ prediction: FloatImage, _ reference: FloatImage) -> Double {
        precondition(prediction.height == reference.height && prediction.width == reference.width
                     && prediction.channels == reference.channels, "SSIM: shape mismatch")
        var total = 0.0
        for c in 0..<prediction.channels {
            total += channelSSIM(prediction.channel(c).pixels, reference.channel(c).pixels,
                                 height: prediction.height, width: prediction.width)
        }
        return total / Double(prediction.channels)
    }

    /// Mean SSIM of one plane; NaN when the image is smaller than the window.
    func channelSSIM(_ x: [Float], _ y: [Float], height: Int, width: Int) -> Double {
        let side = 2 * radius + 1
        guard height >= side, width >= side else { return .nan }
        let w = taps
        let outH = height - side + 1, outW = width - side + 1
        // Five moments (x, y, x², y², xy) filtered horizontally (valid), then vertically (valid).
        var horizontal = [[Double]](repeating: [Double](repeating: 0, count: height * outW), count: 5)
        for r in 0..<height {
            for c in 0..<outW {
                var m = (0.0, 0.0, 0.0, 0.0, 0.0)
                for k in 0..<side {
                    let i = r * width + c + k
                    let a = Double(x[i]), b = Double(y[i]), t = w[k]
                    m.0 += t * a; m.1 += t * b; m.2 += t * a * a; m.3 += t * b * b; m.4 += t * a * b
                }
                let o = r * outW + c
                horizontal[0][o] = m.0; horizontal[1][o] = m.1; horizontal[2][o] = m.2
                horizontal[3][o] = m.3; horizontal[4][o] = m.4
            }
        }
        let c1 = (k1 * dataRange) * (k1 * dataRange), c2 = (k2 * dataRange) * (k2 * dataRange)
        var sum = 0.0
        for r in 0..<outH {
            for c in 0..<outW {
                var m = (0.0, 0.0, 0.0, 0.0, 0.0)
                for k in 0..<side {
                    let i = (r + k) * outW + c, t = w[k]
                    m.0 += t * horizontal[0][i]; m.1 += t * horizontal[1][i]; m.2 += t * horizontal[2][i]
                    m.3 += t * horizontal[3][i]; m.4 += t * horizontal[4][i]
                }
                let vx = m.2 - m.0 * m.0, vy = m.3 - m.1 * m.1, cov = m.4 - m.0 * m.1
                sum += ((2 * m.0 * m.1 + c1) * (2 * cov + c2)) / ((m.0 * m.0 + m.1 * m.1 + c1) * (vx + vy + c2))
            }
        }
        return sum / Double(outH * outW)
    }
}
