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

extension Parallel {
    /// Runs `body(w)` for w in 0..<workers concurrently (each worker picks its own share of the work).
    public static func forWorkers(_ workers: Int, _ body: (Int) -> Void) {
        if workers <= 1 { body(0); return }
        withoutActuallyEscaping(body) { escapable in
            let shared = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { shared.value($0) }
        }
    }

    /// How many workers a GEMM-based op should run its chunks on. Worker-level parallelism (each worker:
    /// single-threaded GEMM on its own chunk) keeps both cores busy through im2col, GEMM and epilogue, but
    /// is only safe and sensible when OpenBLAS itself runs single-threaded; if OpenBLAS is multi-threaded
    /// (`GEMM.setThreads(n > 1)`), the ops run chunks one after another and let OpenBLAS thread each GEMM.
    /// The inference engine sets OpenBLAS to 1 thread and uses workers.
    public static func convolutionWorkers(threads: Int, rows: Int) -> Int {
        guard threads > 1, GEMM.threads == 1 else { return 1 }
        return max(1, min(threads, rows / 64))
    }
}

/// Carries a non-Sendable value into a `@Sendable` closure whose lifetime the caller bounds.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
