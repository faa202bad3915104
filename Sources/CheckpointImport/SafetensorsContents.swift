import Foundation

/// A parsed safetensors file (https://github.com/huggingface/safetensors): an 8-byte little-endian header
/// length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`, then the
/// raw little-endian tensor data, offsets relative to its start. Every field of a hostile file is checked
/// before any data is touched.
public struct SafetensorsContents: Sendable {
    public struct Tensor: Sendable, Equatable {
        public var name: String
        /// safetensors dtype name: `F32`, `I64`, …
        public var dtype: String
        public var shape: [Int]
        /// Byte range inside the data section.
        public var dataRange: Range<Int>
        public var byteCount: Int { dataRange.count }
    }

    /// Bytes per element of the dtypes this reader accepts.
    public static let elementSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
        "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
    ]
    /// Same limit as the reference implementation: a larger header is hostile or not safetensors.
    public static let maximumHeaderLength = 100_000_000

    public let file: String
    /// Tensors in data order.
    public let tensors: [Tensor]
    public let metadata: [String: String]
    private let bytes: [UInt8]
    private let dataStart: Int
    private let positions: [String: Int]

    public init(contentsOf url: URL) throws(SafetensorsError) {
        let path = url.path
        let bytes: [UInt8]
        do {
            guard let file = try ReadOnlyFile(path: path) else { throw SafetensorsError.io(file: path, reason: "no such file") }
            bytes = try file.readAll()  // straight into the array: no intermediate Data copy
        } catch let error as SafetensorsError {
            throw error
        } catch {
            throw .io(file: path, reason: "\(error)")
        }
        try self.init(bytes: bytes, file: path)
    }

    public init(bytes: [UInt8], file: String) throws(SafetensorsError) {
        guard bytes.count >= 8 else { throw .truncated(file: file, reason: "\(bytes.count) bytes, no header length") }
        let length = ByteReader.fixed64(bytes, at: 0)
        guard length <= UInt64(Self.maximumHeaderLength), length <= UInt64(bytes.count - 8) else {
            throw .headerTooLarge(file: file, length: length, limit: Self.maximumHeaderLength)
        }
        let dataStart = 8 + Int(length)
        let headerBytes = bytes[8..<dataStart]
        guard headerBytes.first == UInt8(ascii: "{") else { throw .invalidHeader(file: file, reason: "does not start with '{'") }
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw .invalidHeader(file: file, reason: "not UTF-8") }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(headerBytes)) } catch {
            throw .invalidHeader(file: file, reason: "not JSON (\((error as NSError).localizedDescription))")
        }
        guard let object = json as? [String: Any] else { throw .invalidHeader(file: file, reason: "not a JSON object") }

        var metadata: [String: String] = [:]
        var tensors: [Tensor] = []
        let dataSize = bytes.count - dataStart
        for (name, value) in object {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else { throw .invalidMetadata(file: file, reason: "not an object") }
                for (key, item) in map {
                    guard let text = item as? String else { throw .invalidMetadata(file: file, reason: "value of '\(key)' is not a string") }
                    metadata[key] = text
                }
                continue
            }
            func bad(_ reason: String) -> SafetensorsError { .invalidTensor(file: file, tensor: name, reason: reason) }
            guard let info = value as? [String: Any] else { throw bad("entry is not an object") }
            guard let dtype = info["dtype"] as? String else { throw bad("no dtype") }
            guard let elementSize = Self.elementSizes[dtype] else { throw .unknownDType(file: file, tensor: name, dtype: dtype) }
            guard let shapeItems = info["shape"] as? [Any] else { throw bad("no shape") }
            var shape: [Int] = []
            var count = 1
            for item in shapeItems {
                guard let dim = Self.integer(item), dim >= 0 else { throw bad("shape \(shapeItems) has a non-integer or negative dimension") }
                let (product, overflow) = count.multipliedReportingOverflow(by: dim)
                guard !overflow else { throw bad("element count overflows") }
                count = product
                shape.append(dim)
            }
            guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = Self.integer(offsets[0]), let end = Self.integer(offsets[1])
            else { throw bad("data_offsets is not [begin, end]") }
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw bad("data_offsets [\(begin), \(end)] lie outside the \(dataSize)-byte data section")
            }
            let (expected, overflow) = count.multipliedReportingOverflow(by: elementSize)
            guard !overflow, end - begin == expected else {
                throw bad("\(end - begin) bytes of data, shape \(shape) of \(dtype) needs \(overflow ? Int.max : expected)")
            }
            tensors.append(Tensor(name: name, dtype: dtype, shape: shape, dataRange: begin..<end))
        }
        tensors.sort { ($0.dataRange.lowerBound, $0.dataRange.upperBound, $0.name) < ($1.dataRange.lowerBound, $1.dataRange.upperBound, $1.name) }
        for (a, b) in zip(tensors, tensors.dropFirst()) where b.dataRange.lowerBound < a.dataRange.upperBound {
            throw .overlappingTensors(file: file, first: a.name, second: b.name)
        }
        self.file = file
        self.tensors = tensors
        self.metadata = metadata
        self.bytes = bytes
        self.dataStart = dataStart
        self.positions = Dictionary(tensors.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// JSON integers only (JSONSerialization hands out NSNumber; reject fractions and booleans).
    private static func integer(_ value: Any) -> Int? {
        // Booleans arrive as NSNumber of objCType "c"; `as? Int` already refuses fractions and overflow.
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
        return value as? Int
    }

    public func tensor(_ name: String) -> Tensor? { positions[name].map { tensors[$0] } }

    /// A float32 tensor's values (bit-exact copy of the stored bytes).
    public func floatTensor(_ name: String) throws(SafetensorsError) -> FloatTensor {
        guard let tensor = tensor(name) else { throw .missingTensor(file: file, tensor: name) }
        guard tensor.dtype == "F32" else { throw .wrongDType(file: file, tensor: name, expected: "F32", found: tensor.dtype) }
        return FloatTensor(shape: tensor.shape, values: elements(tensor, as: Float.self))
    }

    public func int64Tensor(_ name: String) throws(SafetensorsError) -> (shape: [Int], values: [Int64]) {
        guard let tensor = tensor(name) else { throw .missingTensor(file: file, tensor: name) }
        guard tensor.dtype == "I64" else { throw .wrongDType(file: file, tensor: name, expected: "I64", found: tensor.dtype) }
        return (tensor.shape, elements(tensor, as: Int64.self))
    }

    private func elements<T: BitwiseCopyable>(_ tensor: Tensor, as type: T.Type) -> [T] {
        let count = tensor.byteCount / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: raw[(dataStart + tensor.dataRange.lowerBound)..<(dataStart + tensor.dataRange.upperBound)]))
            }
            initialized = count
        }
    }
}
