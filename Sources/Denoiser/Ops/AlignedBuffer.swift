import Foundation

/// A fixed-size block of 64-byte aligned float32 memory that the inference engine carves its activation
/// buffers and im2col scratch from. Owning the memory in one class keeps the hot path allocation-free and
/// lets the planner report exactly how many bytes a forward pass needs.
public final class AlignedBuffer: @unchecked Sendable {
    // @unchecked: the memory is only touched through `pointer` by the owner, which serialises its use
    // (the engine holds a lock around every forward pass).
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        precondition(count >= 0)
        self.count = count
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes for tensor buffers")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    deinit { free(pointer) }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}
