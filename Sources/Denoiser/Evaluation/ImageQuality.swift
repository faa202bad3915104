import Foundation

/// Full-reference image quality on the 0…`dataRange` scale (255 for the σ=25 benchmarks).
///
/// PSNR follows `shared/data/psnr.py` (and `reference-model.md` §5.3) exactly: the prediction is taken as
/// stored (float32 → float64, **not** clipped), MSE is the mean over all H·W·C values, PSNR =
/// 10·log10(range² / MSE), +∞ when MSE is 0. A set's figure is the mean of the per-image PSNRs.
public enum ImageQuality {
    /// How the prediction is conditioned before it is compared (psnr.py's default, `--clip`, `--quantize`).
    public enum Conditioning: String, Sendable, Codable, CaseIterable {
        /// As stored (the Noise2Void / Noise2Same notebook convention).
        case raw
        /// Clipped to [0, range].
        case clipped
        /// Clipped, then rounded half away from zero: what saving an 8-bit PNG gives.
        case quantized
    }

    public static func meanSquaredError(
        _ prediction: FloatImage, _ reference: FloatImage, conditioning: Conditioning = .raw, dataRange: Double = 255
    ) -> Double {
        precondition(prediction.height == reference.height && prediction.width == reference.width
                     && prediction.channels == reference.channels,
                     "shape mismatch: \(prediction.height)×\(prediction.width)×\(prediction.channels) vs "
                     + "\(reference.height)×\(reference.width)×\(reference.channels)")
        let n = prediction.pixels.count
        guard n > 0 else { return 0 }
        var sum = 0.0
        prediction.pixels.withUnsafeBufferPointer { p in
            reference.pixels.withUnsafeBufferPointer { r in
                for i in 0..<n {
                    var v = Double(p[i])
                    switch conditioning {
                    case .raw: break
                    case .clipped: v = min(max(v, 0), dataRange)
                    // floor(x + 0.5) on a non-negative value = round half away from zero (psnr.py --quantize).
                    case .quantized: v = (min(max(v, 0), dataRange) + 0.5).rounded(.down)
                    }
                    let d = v - Double(r[i])
                    sum += d * d
                }
            }
        }
        return sum / Double(n)
    }

    public static func psnr(
        _ prediction: FloatImage, _ reference: FloatImage, conditioning: Conditioning = .raw, dataRange: Double = 255
    ) -> Double {
        psnr(mse: meanSquaredError(prediction, reference, conditioning: conditioning, dataRange: dataRange),
             dataRange: dataRange)
    }

    public static func psnr(mse: Double, dataRange: Double = 255) -> Double {
        mse == 0 ? .infinity : 10 * log10(dataRange * dataRange / mse)
    }
}
