import Dispatch
import Foundation

/// Splits element-wise and im2col work over the CPU cores. GEMMs are threaded inside OpenBLAS; everything
/// else (memory-bound passes) goes through here so that both cores stream memory.
public enum Parallel {
    /// Active processor count (2 on the target box).
    public static let processorCount = max(ProcessInfo.processInfo.activeProcessorCount, 1)

    /// Calls `body` on disjoint sub-ranges covering `0..<count`, using up to `threads` workers; ranges are at
    /// least `minimumChunk` long so small tensors stay on the calling thread (dispatch costs ~µs).
    @inline(__always)
    public static func forRanges(
        _ count: Int, threads: Int, minimumChunk: Int = 16_384, _ body: (Range<Int>) -> Void
    ) {
        guard count > 0 else { return }
        let workers = min(max(threads, 1), max(count / max(minimumChunk, 1), 1))
        if workers == 1 { body(0..<count); return }
        let step = (count + workers - 1) / workers
        withoutActuallyEscaping(body) { escapable in
            // The work closures capture raw pointers, which are not Sendable; concurrentPerform returns only
            // after every iteration finished and the ranges are disjoint, so sharing them is safe.
            let shared = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let start = w * step
                let end = min(start + step, count)
                if start < end { shared.value(start..<end) }
            }
        }
    }
}

/// Carries a non-Sendable value into a `@Sendable` closure whose lifetime the caller bounds.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
