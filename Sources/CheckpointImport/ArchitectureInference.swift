/// Recovers the `ModelArchitecture` of a Noise2Same U-Net from its variable names and shapes alone
/// (TF checkpoints carry no config). The result is then checked against `parameterSpecs`, which lists
/// every variable that architecture must have, so inference only has to be right, not exhaustive.
enum ArchitectureInference {
    enum Failure: Error, Equatable {
        case threeDimensional(tensor: String, shape: [Int])
        case notNoise2Same(String)
    }

    /// `shapes`: every tensor name in the checkpoint with its shape.
    static func infer(from shapes: [String: [Int]]) throws(Failure) -> ModelArchitecture {
        let scope = ModelArchitecture.scope + "/"
        let firstKernel = scope + "first_convolution/kernel"
        // 3-D models have NDHWC data and 5-D kernels everywhere; the first convolution is always present.
        if let (name, shape) = shapes.first(where: { $0.key.hasPrefix(scope) && $0.key.hasSuffix("/kernel") && $0.value.count == 5 }) {
            throw .threeDimensional(tensor: name, shape: shape)
        }
        guard let first = shapes[firstKernel] else {
            throw .notNoise2Same("no '\(firstKernel)' (is this a Noise2Same checkpoint?)")
        }
        guard first.count == 4, first[0] == 3, first[1] == 3 else {
            throw .notNoise2Same("'\(firstKernel)' has shape \(first), expected [3, 3, channels, filters]")
        }
        let inputChannels = first[2]
        let baseFilters = first[3]

        // Block counts per scope: the number of distinct `res_K` / `block_K` children.
        var encoding: [Int: Set<Int>] = [:]
        var decoding: [Int: Set<Int>] = [:]
        var bottom = Set<Int>()
        var deepestEncoding = 0
        var deepestDecoding = 0
        for name in shapes.keys where name.hasPrefix(scope) {
            let parts = name.dropFirst(scope.count).split(separator: "/")
            guard parts.count >= 2 else { continue }
            if let level = number(parts[0], after: "encoding_block_") {
                deepestEncoding = max(deepestEncoding, level)
                if let block = number(parts[1], after: "res_") { encoding[level, default: []].insert(block) }
            } else if let level = number(parts[0], after: "decoding_block_") {
                deepestDecoding = max(deepestDecoding, level)
                if let block = number(parts[1], after: "res_") { decoding[level, default: []].insert(block) }
            } else if parts[0] == "bottom_block", let block = number(parts[1], after: "block_") {
                bottom.insert(block)
            }
        }
        let depth = max(deepestEncoding, deepestDecoding + 1, 1)
        guard depth <= 8 else { throw .notNoise2Same("depth \(depth) is implausible") }
        func count(_ blocks: Set<Int>?) -> Int { (blocks?.max()).map { $0 + 1 } ?? 0 }
        let architecture = ModelArchitecture(
            depth: depth, baseFilters: baseFilters, inputChannels: inputChannels,
            encodingBlockSizes: (1...depth).map { count(encoding[$0]) },
            decodingBlockSizes: (0..<(depth - 1)).map { count(decoding[$0 + 1]) },
            bottomBlockSize: count(bottom))
        do {
            try architecture.validate()
        } catch {
            throw .notNoise2Same("the variables describe an unusable network (\(error))")
        }
        if let problem = implausibility(of: architecture) { throw .notNoise2Same(problem) }
        return architecture
    }

    /// Residual blocks per level beyond which a file is hostile rather than a model (`validate()` has no
    /// upper bound, and `parameterSpecs` would loop over a block count such as `res_999999999`).
    static let maximumBlocksPerLevel = 64

    /// Why an architecture read from a file cannot be real, or nil.
    static func implausibility(of architecture: ModelArchitecture) -> String? {
        let sizes = architecture.encodingBlockSizes + architecture.decodingBlockSizes + [architecture.bottomBlockSize]
        guard sizes.allSatisfy({ $0 <= maximumBlocksPerLevel }) else {
            return "block sizes \(sizes) exceed \(maximumBlocksPerLevel) residual blocks per level"
        }
        return nil
    }

    /// `encoding_block_3` → 3 for prefix `encoding_block_`.
    private static func number(_ component: Substring, after prefix: String) -> Int? {
        guard component.hasPrefix(prefix), let value = Int(component.dropFirst(prefix.count)), value >= 0,
              value < 1 << 20 else { return nil }
        return value
    }
}
