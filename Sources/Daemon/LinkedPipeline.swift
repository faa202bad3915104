/// The real image pipeline and trainer, once they are linked into this build (see the `images`, `engine`,
/// `ckpt` and `trainer` branches). `nil` means the build has none: the daemon refuses to start in denoise
/// mode rather than pretend, and fine-tuning reports "unavailable".
public enum LinkedPipeline {
    public static var factory: (any ImageProcessorFactory)? { nil }
    public static var fineTuner: (any FineTuner)? { nil }
}
