import Denoiser

/// The real image pipeline and trainer linked into this build.
public enum LinkedPipeline {
    public static func factory(memoryBudgetBytes: Int64) -> any ImageProcessorFactory {
        DenoisingProcessorFactory(engineOptions: EngineOptions(memoryBudget: Int(clamping: memoryBudgetBytes)))
    }
    public static func fineTuner(learningRate: Float? = nil) -> any FineTuner { NoiseToSameProFineTuner(learningRate: learningRate) }
}
