/// A TensorFlow `DataType` enum value as stored in a bundle entry. A struct rather than an enum so that
/// values this reader does not know still survive decoding and can be reported by name or number.
public struct TensorDataType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let float = TensorDataType(rawValue: 1)
    public static let double = TensorDataType(rawValue: 2)
    public static let int32 = TensorDataType(rawValue: 3)
    public static let uint8 = TensorDataType(rawValue: 4)
    public static let int16 = TensorDataType(rawValue: 5)
    public static let int8 = TensorDataType(rawValue: 6)
    public static let string = TensorDataType(rawValue: 7)
    public static let complex64 = TensorDataType(rawValue: 8)
    public static let int64 = TensorDataType(rawValue: 9)
    public static let bool = TensorDataType(rawValue: 10)
    public static let bfloat16 = TensorDataType(rawValue: 14)
    public static let uint16 = TensorDataType(rawValue: 17)
    public static let complex128 = TensorDataType(rawValue: 18)
    public static let half = TensorDataType(rawValue: 19)

    private static let names: [Int32: String] = [
        0: "DT_INVALID", 1: "DT_FLOAT", 2: "DT_DOUBLE", 3: "DT_INT32", 4: "DT_UINT8", 5: "DT_INT16", 6: "DT_INT8",
        7: "DT_STRING", 8: "DT_COMPLEX64", 9: "DT_INT64", 10: "DT_BOOL", 11: "DT_QINT8", 12: "DT_QUINT8",
        13: "DT_QINT32", 14: "DT_BFLOAT16", 15: "DT_QINT16", 16: "DT_QUINT16", 17: "DT_UINT16",
        18: "DT_COMPLEX128", 19: "DT_HALF", 20: "DT_RESOURCE", 21: "DT_VARIANT", 22: "DT_UINT32", 23: "DT_UINT64",
    ]

    /// TensorFlow's name, e.g. `DT_FLOAT`; `DT_<n>` for values this reader does not know.
    public var name: String { Self.names[rawValue] ?? "DT_\(rawValue)" }
    public var description: String { name }

    /// Bytes per element for the types whose elements this reader can decode; nil otherwise
    /// (strings are variable-length and decoded separately).
    public var elementSize: Int? {
        switch self {
        case .float, .int32: 4
        case .double, .int64: 8
        case .bool, .uint8: 1
        case .bfloat16, .half: 2
        default: nil
        }
    }

    /// Whether `CheckpointBundle.tensor(_:)` can decode tensors of this type.
    public var isSupported: Bool { elementSize != nil || self == .string }
}
