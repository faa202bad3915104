/// A tensor decoded from a bundle, in its stored element type.
public struct TensorValue: Sendable, Equatable {
    public enum Storage: Sendable, Equatable {
        case float([Float])
        case double([Double])
        case int32([Int32])
        case int64([Int64])
        case bool([Bool])
        case uint8([UInt8])
        /// Raw bit patterns; `floatValues` widens them exactly.
        case bfloat16([UInt16])
        case half([UInt16])
        case string([[UInt8]])
    }

    public var dataType: TensorDataType
    public var shape: [Int]
    public var storage: Storage

    public init(dataType: TensorDataType, shape: [Int], storage: Storage) {
        self.dataType = dataType
        self.shape = shape
        self.storage = storage
    }

    /// The elements as Float for the floating-point types whose values Float holds exactly
    /// (float32, bfloat16, float16); nil otherwise.
    public var floatValues: [Float]? {
        switch storage {
        case .float(let values): values
        case .bfloat16(let bits): bits.map { Float(bitPattern: UInt32($0) << 16) }
        case .half(let bits): bits.map(Self.halfToFloat)
        default: nil
        }
    }

    /// IEEE binary16 → binary32, exact (written out because `Float16` is not available on every platform).
    static func halfToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int((bits >> 10) & 0x1f)
        let mantissa = UInt32(bits & 0x3ff)
        switch exponent {
        case 0:
            // zero or subnormal: mantissa · 2^-24
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        case 0x1f:
            return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
        }
    }
}
