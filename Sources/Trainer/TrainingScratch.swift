import Denoiser

/// One grow-only scratch buffer that the training graph's backward ops borrow one at a time (the graph runs
/// its ops sequentially). The Winograd weight gradient needs up to T²·Cin·Cout floats per worker plus its
/// transform blocks (≈ 70 MiB for the 384-channel layers at batch 16); allocating that per call made every
/// call fault its pages in afresh.
final class TrainingScratch {
    private var storage = AlignedBuffer(count: 0)

    /// At least `count` floats, valid until the next call; contents are undefined.
    func buffer(count: Int) -> UnsafeMutableBufferPointer<Float> {
        if storage.count < count { storage = AlignedBuffer(count: count) }
        return UnsafeMutableBufferPointer(start: storage.pointer, count: count)
    }
}
