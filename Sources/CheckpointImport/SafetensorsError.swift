/// Problems reading or writing a safetensors file; each names the file and, where there is one, the tensor.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    case io(file: String, reason: String)
    case truncated(file: String, reason: String)
    case headerTooLarge(file: String, length: UInt64, limit: Int)
    case invalidHeader(file: String, reason: String)
    case unknownDType(file: String, tensor: String, dtype: String)
    case invalidTensor(file: String, tensor: String, reason: String)
    case overlappingTensors(file: String, first: String, second: String)
    case wrongDType(file: String, tensor: String, expected: String, found: String)
    case missingTensor(file: String, tensor: String)
    case invalidMetadata(file: String, reason: String)
    case invalidModel(file: String, reason: String)

    public var description: String {
        switch self {
        case .io(let file, let reason): "\(file): \(reason)"
        case .truncated(let file, let reason): "\(file): truncated safetensors file: \(reason)"
        case .headerTooLarge(let file, let length, let limit):
            "\(file): header length \(length) is larger than the file or the \(limit)-byte limit (not a safetensors file, or corrupt)"
        case .invalidHeader(let file, let reason): "\(file): invalid safetensors header: \(reason)"
        case .unknownDType(let file, let tensor, let dtype): "\(file): tensor '\(tensor)' has unknown dtype '\(dtype)'"
        case .invalidTensor(let file, let tensor, let reason): "\(file): tensor '\(tensor)': \(reason)"
        case .overlappingTensors(let file, let first, let second):
            "\(file): the data of tensors '\(first)' and '\(second)' overlap"
        case .wrongDType(let file, let tensor, let expected, let found):
            "\(file): tensor '\(tensor)' is \(found), expected \(expected)"
        case .missingTensor(let file, let tensor): "\(file): the model needs tensor '\(tensor)', which the file does not contain"
        case .invalidMetadata(let file, let reason): "\(file): invalid __metadata__: \(reason)"
        case .invalidModel(let file, let reason): "\(file): not a usable Noise2Same model: \(reason)"
        }
    }
}
