import ArgumentParser
import CheckpointImport
import Foundation

/// `n2sp inspect`: what is in a model file or TF checkpoint.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the architecture, parameter count and tensor table of a model or TF checkpoint.",
        discussion: """
            <path> is an n2spd/safetensors model file, or a TensorFlow checkpoint (prefix, .index file or \
            model directory); the kind is detected from the file contents. For a TF checkpoint every \
            block and tensor checksum is verified, so `inspect` doubles as an integrity check (exit code 1 \
            with the reason on corruption). If the tensors do not form a Noise2Same U-Net the table is still \
            shown, with the reason the architecture could not be inferred.

            Examples:
              n2sp inspect models/n2s_bsd68
              n2sp inspect bsd68.safetensors --json | jq '.tensors | length'
            """)

    @Argument(help: "Safetensors file, checkpoint prefix, .index file, or model directory.")
    var path: String

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    struct Report: Codable {
        struct Tensor: Codable {
            var name: String
            var shape: [Int]
            var dtype: String
            var bytes: Int
        }
        var kind: String
        var path: String
        var architecture: ModelArchitecture?
        var architectureError: String?
        var trainableParameters: Int?
        var step: Int64?
        var checksumsVerified: Int?
        var metadata: [String: String]
        var tensors: [Tensor]
    }

    func run() throws {
        let start = DispatchTime.now()
        let report = try SafetensorsFile.looksLikeSafetensors(path) && !path.hasSuffix(".index")
            ? inspectSafetensors() : inspectCheckpoint()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        let totalBytes = report.tensors.reduce(0) { $0 + $1.bytes }
        print("\(report.kind)  \(report.path)")
        if let architecture = report.architecture {
            print("architecture  \(architecture)")
            print("parameters    \(grouped(report.trainableParameters ?? 0)) trainable")
        } else {
            print("architecture  not a Noise2Same U-Net: \(report.architectureError ?? "unknown")")
        }
        if let step = report.step { print("step          \(step)") }
        if let verified = report.checksumsVerified { print("checksums     \(verified) tensors verified") }
        for (key, value) in report.metadata.sorted(by: { $0.key < $1.key }) { print("metadata      \(key) = \(value)") }
        print("tensors       \(report.tensors.count), \(grouped(totalBytes)) bytes (read in \(String(format: "%.3f", seconds)) s)")
        let nameWidth = min(80, report.tensors.map(\.name.count).max() ?? 4)
        let shapeWidth = report.tensors.map { shapeText($0.shape).count }.max() ?? 5
        print(pad("name", nameWidth) + "  " + pad("shape", shapeWidth) + "  " + pad("dtype", 11) + "  bytes")
        for tensor in report.tensors {
            print(pad(tensor.name, nameWidth) + "  " + pad(shapeText(tensor.shape), shapeWidth) + "  " + pad(tensor.dtype, 11) + "  " + grouped(tensor.bytes))
        }
    }

    private func inspectCheckpoint() throws -> Report {
        let bundle = try CheckpointBundle(path: path)
        let verified = try bundle.verifyAllChecksums()
        var report = Report(
            kind: "tf-checkpoint", path: bundle.prefix, checksumsVerified: verified, metadata: [:],
            tensors: bundle.entries.map { .init(name: $0.name, shape: $0.shape, dtype: $0.dataType.name, bytes: $0.size) })
        if bundle.entries.contains(where: { $0.name == "global_step" && $0.dataType == .int64 && $0.shape.isEmpty }) {
            report.step = try bundle.int64Scalar("global_step")
        }
        do {
            let (weights, _) = try ModelWeights.importCheckpoint(bundle, keepOptimizerState: false)
            report.architecture = weights.architecture
            report.trainableParameters = weights.architecture.trainableParameterCount
        } catch {
            report.architectureError = "\(error)"
        }
        return report
    }

    private func inspectSafetensors() throws -> Report {
        let contents = try SafetensorsContents(contentsOf: URL(fileURLWithPath: path))
        var report = Report(
            kind: "safetensors", path: path, metadata: contents.metadata,
            tensors: contents.tensors.map { .init(name: $0.name, shape: $0.shape, dtype: $0.dtype, bytes: $0.byteCount) })
        do {
            let weights = try SafetensorsFile.read(contents)
            report.architecture = weights.architecture
            report.trainableParameters = weights.architecture.trainableParameterCount
            report.step = weights.globalStep
        } catch {
            report.architectureError = "\(error)"
        }
        return report
    }

    private func shapeText(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
