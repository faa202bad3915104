import CheckpointImport
import Foundation
import TestSupport
import XCTest

@testable import Denoiser

/// `n2sp eval` end to end on two tiny images with the fixture checkpoint (5 base filters): the table's
/// numbers are the library's, saved outputs are the engine's, and fine-tuning changes the model.
final class EvaluationRunTests: XCTestCase {
    static var binary: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("n2sp")
    }

    /// Two 32×40 crops of Set12 images plus deterministic ±25 noise, in the shared/data float32 layout.
    func makeSet(in root: URL) throws -> (noisy: URL, clean: URL) {
        let clean = root.appendingPathComponent("clean"), noisy = root.appendingPathComponent("noisy")
        try FileManager.default.createDirectory(at: clean, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: noisy.appendingPathComponent("f32"), withIntermediateDirectories: true)
        var entries: [String] = []
        for (k, source) in ["01", "03"].enumerated() {
            let full = try ImageCodec.read(Fixtures.data("Set12/\(source).png"))
            guard case .uint8(let bytes) = full.samples else { throw XCTSkip("Set12 is 8-bit") }
            var crop: [UInt8] = []
            for y in 0..<32 { for x in 0..<40 { crop.append(bytes[(100 + y) * full.width + 80 + x]) } }
            let name = "img\(k)"
            try ImageCodec.write(DecodedImage(format: .png, width: 40, height: 32, colorChannels: 1, samples: .uint8(crop)),
                                 to: clean.appendingPathComponent(name + ".png"), options: .init(fsync: false))
            let values = crop.enumerated().map { i, v in Float(v) + 25 * Float(sin(Double(i * 7 + k) * 1.3)) }
            try values.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: noisy.appendingPathComponent("f32/\(name).f32"))
            entries.append(#"{"name": "\#(name)", "f32": "f32/\#(name).f32", "shape": [32, 40]}"#)
        }
        try Data("{\"images\": [\(entries.joined(separator: ","))]}".utf8).write(to: noisy.appendingPathComponent("index.json"))
        return (noisy, clean)
    }

    func testEvalWithFineTuningOnTwoTinyImages() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            return XCTFail("n2sp not built next to the tests at \(Self.binary.path)")
        }
        let root = try Fixtures.temporaryDirectory("n2spd-evalrun")
        defer { try? FileManager.default.removeItem(at: root) }
        let (noisy, clean) = try makeSet(in: root)
        let model = Fixtures.fixture("tf-ckpt-small").path
        let outputs = root.appendingPathComponent("out")

        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["eval", "--model", model, "--noisy", noisy.path, "--clean", clean.path, "--json", "--threads", "1",
                             "--finetune-steps", "2,0", "--finetune-batch", "2", "--finetune-patch", "16",
                             "--save-outputs", outputs.path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, stderr)

        let report = try JSONSerialization.jsonObject(with: stdout) as! [String: Any]
        let budgets = report["budgets"] as! [[String: Any]]
        XCTAssertEqual(budgets.map { $0["steps"] as! Int }, [0, 2])
        func images(_ b: [String: Any]) -> [[String: Any]] { (b["score"] as! [String: Any])["images"] as! [[String: Any]] }
        XCTAssertEqual(images(budgets[0]).map { $0["name"] as! String }, ["img0", "img1"])

        // Budget 0 is the model as given: recompute with the library and the engine.
        let engine = try InferenceEngine(weights: try ModelWeights.load(from: model), options: EngineOptions(threads: 1))
        let dataset = try EvaluationDataset(noisy: noisy, clean: clean)
        var sum = 0.0
        for (pair, reported) in zip(dataset.pairs, images(budgets[0])) {
            let (n, c) = try pair.load()
            let denoised = try engine.predict(n)
            XCTAssertEqual(reported["psnr"] as! Double, ImageQuality.psnr(denoised, c), accuracy: 1e-9)
            XCTAssertEqual(reported["psnr_8bit"] as! Double, ImageQuality.psnr(denoised, c, conditioning: .quantized), accuracy: 1e-9)
            XCTAssertEqual(reported["ssim"] as! Double, SSIM()(denoised, c), accuracy: 1e-9)
            XCTAssertEqual(reported["noisy_psnr"] as! Double, ImageQuality.psnr(n, c), accuracy: 1e-9)
            XCTAssertGreaterThan(reported["seconds"] as! Double, 0)
            let saved = try Fixtures.readFloat32(outputs.appendingPathComponent("steps-0/\(pair.name).f32"))
            XCTAssertEqual(saved, denoised.pixels)
            XCTAssertTrue(FileManager.default.fileExists(atPath: outputs.appendingPathComponent("steps-0/\(pair.name).png").path))
            sum += ImageQuality.psnr(denoised, c)
        }
        XCTAssertEqual((budgets[0]["score"] as! [String: Any])["mean_psnr"] as! Double, sum / 2, accuracy: 1e-9)

        // Two Noise2SamePro steps change the weights, hence the outputs.
        XCTAssertGreaterThan(budgets[1]["finetune_seconds"] as! Double, 0)
        XCTAssertNotNil(budgets[1]["finetune_loss_last"] as? Double)
        let tuned = try Fixtures.readFloat32(outputs.appendingPathComponent("steps-2/img0.f32"))
        let base = try Fixtures.readFloat32(outputs.appendingPathComponent("steps-0/img0.f32"))
        XCTAssertGreaterThan(Compare.maxAbs(tuned, base), 1e-4)
        XCTAssertNotEqual(images(budgets[1])[0]["psnr"] as! Double, images(budgets[0])[0]["psnr"] as! Double)
    }
}
