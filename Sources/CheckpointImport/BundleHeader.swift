import CTFProtos

/// The bundle header (`BundleHeaderProto`, the value of the empty key, spec §5.1).
public struct BundleHeader: Equatable, Sendable {
    /// The bundle format version this reader implements (TensorFlow's kTensorBundleVersion).
    public static let supportedVersion: Int32 = 1

    public var numShards: Int
    public var producer: Int32
    public var minConsumer: Int32
    public var badConsumers: [Int32]

    public init(numShards: Int, producer: Int32 = 1, minConsumer: Int32 = 0, badConsumers: [Int32] = []) {
        self.numShards = numShards
        self.producer = producer
        self.minConsumer = minConsumer
        self.badConsumers = badConsumers
    }

    /// Decodes and validates the header: at least one shard, little-endian, a version we can read.
    public init(proto value: [UInt8], file: String) throws(CheckpointError) {
        let message = value.withUnsafeBufferPointer { buffer in
            tensorflow__bundle_header_proto__unpack(nil, buffer.count, buffer.baseAddress)
        }
        guard let message else { throw .badHeader(file: file, reason: "does not parse as BundleHeaderProto") }
        defer { tensorflow__bundle_header_proto__free_unpacked(message, nil) }
        let proto = message.pointee
        guard proto.num_shards >= 1 else { throw .badHeader(file: file, reason: "num_shards is \(proto.num_shards)") }
        guard proto.endianness == TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__LITTLE else {
            if proto.endianness == TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__BIG { throw .bigEndian(file: file) }
            throw .badHeader(file: file, reason: "unknown endianness \(proto.endianness.rawValue)")
        }
        var producer: Int32 = 0, minConsumer: Int32 = 0, badConsumers: [Int32] = []
        if let version = proto.version?.pointee {
            producer = version.producer
            minConsumer = version.min_consumer
            badConsumers = (0..<version.n_bad_consumers).map { version.bad_consumers[$0] }
        }
        guard minConsumer <= Self.supportedVersion else {
            throw .unsupportedVersion(file: file, reason: "needs a reader of version \(minConsumer), this one implements \(Self.supportedVersion)")
        }
        guard !badConsumers.contains(Self.supportedVersion) else {
            throw .unsupportedVersion(file: file, reason: "the writer marked version \(Self.supportedVersion) readers as bad")
        }
        self.init(numShards: Int(proto.num_shards), producer: producer, minConsumer: minConsumer, badConsumers: badConsumers)
    }

    /// Encodes the header as TensorFlow's BundleWriter does (`08 01 1a 02 08 01` for one shard).
    public func encodedProto() -> [UInt8] {
        var consumers = badConsumers
        return consumers.withUnsafeMutableBufferPointer { consumerBuffer in
            var version = Tensorflow__VersionDef()
            tensorflow__version_def__init(&version)
            version.producer = producer
            version.min_consumer = minConsumer
            version.n_bad_consumers = consumerBuffer.count
            version.bad_consumers = consumerBuffer.baseAddress
            return withUnsafeMutablePointer(to: &version) { versionPointer in
                var header = Tensorflow__BundleHeaderProto()
                tensorflow__bundle_header_proto__init(&header)
                header.num_shards = Int32(numShards)
                header.version = versionPointer
                var out = [UInt8](repeating: 0, count: tensorflow__bundle_header_proto__get_packed_size(&header))
                let written = out.withUnsafeMutableBufferPointer { tensorflow__bundle_header_proto__pack(&header, $0.baseAddress) }
                precondition(written == out.count, "protobuf-c packed \(written) of \(out.count) bytes")
                return out
            }
        }
    }
}
