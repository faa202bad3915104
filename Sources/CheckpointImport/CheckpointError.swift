/// Everything that can go wrong reading (or writing) a TensorFlow V2 checkpoint and mapping it onto the
/// Noise2Same U-Net. Each case names the file, the tensor where there is one, and the reason, so a user
/// can tell a corrupt download from a wrong path from a model we do not support.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    // locating the checkpoint
    case notFound(path: String)
    case notACheckpoint(path: String, reason: String)
    case checkpointStateInvalid(file: String, reason: String)
    case io(file: String, reason: String)

    // the .index table (SSTable)
    case truncatedIndex(file: String, reason: String)
    case badMagic(file: String, found: UInt64)
    case blockOutOfBounds(file: String, block: String, offset: UInt64, size: UInt64, fileSize: Int)
    case blockChecksumMismatch(file: String, block: String, offset: UInt64, stored: UInt32, computed: UInt32)
    case compressedBlock(file: String, block: String, offset: UInt64, compression: UInt8)
    case corruptBlock(file: String, block: String, offset: UInt64, reason: String)

    // header and entries
    case badHeader(file: String, reason: String)
    case bigEndian(file: String)
    case unsupportedVersion(file: String, reason: String)
    case badEntry(file: String, tensor: String, reason: String)
    case shardOutOfRange(file: String, tensor: String, shardID: Int, numShards: Int)
    case missingShard(file: String, shardID: Int, numShards: Int)

    // tensor data
    case tensorNotFound(file: String, tensor: String)
    case truncatedData(file: String, tensor: String, offset: Int, size: Int, fileSize: Int)
    case sizeMismatch(file: String, tensor: String, expected: Int, stored: Int)
    case tensorChecksumMismatch(file: String, tensor: String, stored: UInt32, computed: UInt32)
    case unsupportedDataType(file: String, tensor: String, dataType: String)
    case wrongDataType(file: String, tensor: String, expected: String, found: String)
    case partitionedVariable(file: String, tensor: String)

    // mapping onto the U-Net
    case threeDimensionalModel(file: String, tensor: String, shape: [Int])
    case notANoise2SameModel(file: String, reason: String)
    case missingParameter(file: String, tensor: String)
    case parameterShapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .notFound(let path):
            "\(path): no such file or directory (expected a checkpoint prefix such as dir/model.ckpt-90000, its .index file, or a model directory)"
        case .notACheckpoint(let path, let reason):
            "\(path): not a TensorFlow V2 checkpoint: \(reason)"
        case .checkpointStateInvalid(let file, let reason):
            "\(file): cannot use this `checkpoint` file: \(reason)"
        case .io(let file, let reason):
            "\(file): \(reason)"
        case .truncatedIndex(let file, let reason):
            "\(file): truncated index file: \(reason)"
        case .badMagic(let file, let found):
            "\(file): not an SSTable (footer magic 0x\(String(found, radix: 16)), expected 0xdb4775248b80fb57); the .index file is corrupt or truncated"
        case .blockOutOfBounds(let file, let block, let offset, let size, let fileSize):
            "\(file): \(block) at offset \(offset), size \(size) (+5 trailer) lies outside the \(fileSize)-byte file (truncated or corrupt index)"
        case .blockChecksumMismatch(let file, let block, let offset, let stored, let computed):
            "\(file): CRC32C mismatch in \(block) at offset \(offset) (stored 0x\(hex(stored)), computed 0x\(hex(computed))): the index file is corrupt"
        case .compressedBlock(let file, let block, let offset, let compression):
            compression == 1
                ? "\(file): \(block) at offset \(offset) is Snappy-compressed; TensorFlow bundles are never compressed and this reader does not implement Snappy"
                : "\(file): \(block) at offset \(offset) has unknown compression type \(compression) (corrupt index)"
        case .corruptBlock(let file, let block, let offset, let reason):
            "\(file): corrupt \(block) at offset \(offset): \(reason)"
        case .badHeader(let file, let reason):
            "\(file): bad bundle header: \(reason)"
        case .bigEndian(let file):
            "\(file): the bundle was written on a big-endian machine; byte-swapping is not supported"
        case .unsupportedVersion(let file, let reason):
            "\(file): unsupported bundle version: \(reason)"
        case .badEntry(let file, let tensor, let reason):
            "\(file): entry '\(tensor)': \(reason)"
        case .shardOutOfRange(let file, let tensor, let shardID, let numShards):
            "\(file): tensor '\(tensor)' names shard \(shardID), but the bundle has \(numShards) shard(s)"
        case .missingShard(let file, let shardID, let numShards):
            "\(file): missing data shard \(shardID) of \(numShards); copy every .data-NNNNN-of-MMMMM file of the checkpoint"
        case .tensorNotFound(let file, let tensor):
            "\(file): no tensor named '\(tensor)'"
        case .truncatedData(let file, let tensor, let offset, let size, let fileSize):
            "\(file): tensor '\(tensor)' occupies bytes \(offset)..<\(offset + size), beyond the \(fileSize)-byte data file (truncated)"
        case .sizeMismatch(let file, let tensor, let expected, let stored):
            "\(file): tensor '\(tensor)' stores \(stored) bytes, its dtype and shape need \(expected)"
        case .tensorChecksumMismatch(let file, let tensor, let stored, let computed):
            "\(file): CRC32C mismatch for tensor '\(tensor)' (stored 0x\(hex(stored)), computed 0x\(hex(computed))): the data file is corrupt"
        case .unsupportedDataType(let file, let tensor, let dataType):
            "\(file): tensor '\(tensor)': \(dataType) not supported"
        case .wrongDataType(let file, let tensor, let expected, let found):
            "\(file): tensor '\(tensor)' is \(found), expected \(expected)"
        case .partitionedVariable(let file, let tensor):
            "\(file): tensor '\(tensor)' is a partitioned variable (saved in slices); partitioned variables are not supported"
        case .threeDimensionalModel(let file, let tensor, let shape):
            "\(file): '\(tensor)' has a 5-D kernel \(shape): this is a 3-D Noise2Same model, only 2-D models are supported"
        case .notANoise2SameModel(let file, let reason):
            "\(file): not a Noise2Same U-Net checkpoint: \(reason)"
        case .missingParameter(let file, let tensor):
            "\(file): the model needs '\(tensor)', which the checkpoint does not contain"
        case .parameterShapeMismatch(let file, let tensor, let expected, let found):
            "\(file): '\(tensor)' has shape \(found), the inferred architecture needs \(expected)"
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
