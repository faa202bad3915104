import CTFProtos

/// One tensor's record in a bundle's `.index` (`BundleEntryProto`, spec §5.2).
public struct BundleEntry: Sendable, Equatable {
    /// The tensor's name (the table key), e.g. `main_unet/first_convolution/kernel`.
    public var name: String
    public var dataType: TensorDataType
    public var shape: [Int]
    public var shardID: Int
    /// Byte range in shard `shardID`.
    public var offset: Int
    public var size: Int
    /// As stored: masked CRC32C of the bytes (spec §3, §6.2 for strings).
    public var maskedCRC32C: UInt32
    /// Non-empty only for partitioned variables, which this project does not support.
    public var slices: [TensorSlice]

    public init(
        name: String, dataType: TensorDataType, shape: [Int], shardID: Int = 0, offset: Int, size: Int,
        maskedCRC32C: UInt32, slices: [TensorSlice] = []
    ) {
        self.name = name
        self.dataType = dataType
        self.shape = shape
        self.shardID = shardID
        self.offset = offset
        self.size = size
        self.maskedCRC32C = maskedCRC32C
        self.slices = slices
    }

    /// Product of the dimensions (1 for a scalar); validated against overflow when decoded.
    public var elementCount: Int { shape.reduce(1, *) }
    public var isPartitioned: Bool { !slices.isEmpty }
}

/// One piece of a partitioned variable: per dimension a start and a length (nil = the whole dimension).
public struct TensorSlice: Sendable, Equatable {
    public var extents: [(start: Int, length: Int?)]
    public init(extents: [(start: Int, length: Int?)]) { self.extents = extents }
    public static func == (a: TensorSlice, b: TensorSlice) -> Bool {
        a.extents.count == b.extents.count
            && zip(a.extents, b.extents).allSatisfy { $0.start == $1.start && $0.length == $1.length }
    }
}

extension BundleEntry {
    /// Decodes a `BundleEntryProto` with libprotobuf-c and validates what does not depend on other entries.
    public init(name: String, proto value: [UInt8], file: String) throws(CheckpointError) {
        let message = value.withUnsafeBufferPointer { buffer in
            tensorflow__bundle_entry_proto__unpack(nil, buffer.count, buffer.baseAddress)
        }
        guard let message else { throw .badEntry(file: file, tensor: name, reason: "does not parse as BundleEntryProto") }
        defer { tensorflow__bundle_entry_proto__free_unpacked(message, nil) }
        let proto = message.pointee

        func bad(_ reason: String) -> CheckpointError { .badEntry(file: file, tensor: name, reason: reason) }

        var shape: [Int] = []
        var elements = 1
        if let shapeProto = proto.shape?.pointee {
            guard shapeProto.unknown_rank == 0 else { throw bad("shape has unknown rank") }
            for index in 0..<shapeProto.n_dim {
                guard let dim = shapeProto.dim[index]?.pointee else { throw bad("shape dimension \(index) is null") }
                guard dim.size >= 0 else { throw bad("shape dimension \(index) is \(dim.size)") }
                guard dim.size <= Int64(Int.max) else { throw bad("shape dimension \(index) is too large") }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(dim.size))
                guard !overflow else { throw bad("element count overflows") }
                elements = product
                shape.append(Int(dim.size))
            }
        }
        guard proto.shard_id >= 0 else { throw bad("negative shard_id \(proto.shard_id)") }
        guard proto.offset >= 0, proto.size >= 0 else { throw bad("negative offset \(proto.offset) or size \(proto.size)") }
        let (_, endOverflow) = proto.offset.addingReportingOverflow(proto.size)
        guard !endOverflow else { throw bad("offset + size overflows") }

        var slices: [TensorSlice] = []
        for index in 0..<proto.n_slices {
            guard let slice = proto.slices[index]?.pointee else { throw bad("slice \(index) is null") }
            var extents: [(start: Int, length: Int?)] = []
            for e in 0..<slice.n_extent {
                guard let extent = slice.extent[e]?.pointee else { throw bad("slice \(index) extent \(e) is null") }
                let hasLength = extent.has_length_case == TENSORFLOW__TENSOR_SLICE_PROTO__EXTENT__HAS_LENGTH_LENGTH
                extents.append((start: Int(extent.start), length: hasLength ? Int(extent.length) : nil))
            }
            slices.append(TensorSlice(extents: extents))
        }

        self.init(
            name: name, dataType: TensorDataType(rawValue: Int32(bitPattern: proto.dtype.rawValue)), shape: shape,
            shardID: Int(proto.shard_id), offset: Int(proto.offset), size: Int(proto.size),
            maskedCRC32C: proto.crc32c, slices: slices)
    }

    /// Encodes this entry as TensorFlow does (proto3: zero fields omitted, fields in number order), via
    /// libprotobuf-c. Slices are not written (the writer never produces partitioned variables).
    public func encodedProto() -> [UInt8] {
        var dims = shape.map { size -> Tensorflow__TensorShapeProto__Dim in
            var dim = Tensorflow__TensorShapeProto__Dim()
            tensorflow__tensor_shape_proto__dim__init(&dim)
            dim.size = Int64(size)
            return dim
        }
        return dims.withUnsafeMutableBufferPointer { dimBuffer in
            var dimPointers: [UnsafeMutablePointer<Tensorflow__TensorShapeProto__Dim>?] =
                (0..<dimBuffer.count).map { dimBuffer.baseAddress! + $0 }
            return dimPointers.withUnsafeMutableBufferPointer { pointers in
                var shapeProto = Tensorflow__TensorShapeProto()
                tensorflow__tensor_shape_proto__init(&shapeProto)
                shapeProto.n_dim = pointers.count
                shapeProto.dim = pointers.baseAddress
                return withUnsafeMutablePointer(to: &shapeProto) { shapePointer in
                    var entry = Tensorflow__BundleEntryProto()
                    tensorflow__bundle_entry_proto__init(&entry)
                    entry.dtype = Tensorflow__DataType(rawValue: UInt32(bitPattern: dataType.rawValue))
                    entry.shape = shapePointer  // always present, so a scalar encodes as `12 00` like TF
                    entry.shard_id = Int32(shardID)
                    entry.offset = Int64(offset)
                    entry.size = Int64(size)
                    entry.crc32c = maskedCRC32C
                    var out = [UInt8](repeating: 0, count: tensorflow__bundle_entry_proto__get_packed_size(&entry))
                    let written = out.withUnsafeMutableBufferPointer { tensorflow__bundle_entry_proto__pack(&entry, $0.baseAddress) }
                    precondition(written == out.count, "protobuf-c packed \(written) of \(out.count) bytes")
                    return out
                }
            }
        }
    }
}
