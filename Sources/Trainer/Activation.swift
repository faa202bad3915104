/// An NHWC float32 activation inside the training graph (batch × height × width × channels, contiguous).
///
/// The trainer keeps its own small buffer type rather than the inference engine's tensor because training
/// caches per-pass intermediates and accumulates gradients, which the engine (BN folded, buffers reused) never
/// does; it converts only at the edges (features in, predictions out).
struct Activation {
    var batch: Int
    var height: Int
    var width: Int
    var channels: Int
    var data: [Float]

    init(batch: Int, height: Int, width: Int, channels: Int, data: [Float]) {
        precondition(data.count == batch * height * width * channels, "activation size mismatch")
        self.batch = batch
        self.height = height
        self.width = width
        self.channels = channels
        self.data = data
    }

    init(batch: Int, height: Int, width: Int, channels: Int) {
        self.init(batch: batch, height: height, width: width, channels: channels,
                  data: [Float](repeating: 0, count: batch * height * width * channels))
    }

    /// Number of pixels (rows of the [pixels, channels] matrix view).
    var pixels: Int { batch * height * width }
    var count: Int { data.count }

    func zerosLike(channels newChannels: Int? = nil) -> Activation {
        Activation(batch: batch, height: height, width: width, channels: newChannels ?? channels)
    }
}
