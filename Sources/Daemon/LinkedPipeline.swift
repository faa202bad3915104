import Denoiser

/// The real image pipeline and trainer linked into this build. `fineTuner` is nil until the trainer
/// branch provides a Noise2SamePro fine-tuning entry point: fine-tuning then reports "unavailable".
public enum LinkedPipeline {
    public static func factory(memoryBudgetBytes: Int64) -> any ImageProcessorFactory {
        DenoisingProcessorFactory(engineOptions: EngineOptions(memoryBudget: Int(clamping: memoryBudgetBytes)))
    }
    public static var fineTuner: (any FineTuner)? { nil }
}
