import Foundation
import TestSupport
import XCTest

@testable import Denoiser

/// Pairing noisy and clean images by stem: the shared/data float32 layout, PNG folders, and what is refused.
final class EvaluationDatasetTests: XCTestCase {
    func gray(_ h: Int, _ w: Int, seed: Int) -> DecodedImage {
        var bytes: [UInt8] = []
        for i in 0..<(h * w) { bytes.append(UInt8((i * 37 + seed * 11) % 256)) }
        return DecodedImage(format: .png, width: w, height: h, colorChannels: 1, samples: .uint8(bytes))
    }

    func testFloat32IndexAndPNGFoldersPairByStem() throws {
        let root = try Fixtures.temporaryDirectory("n2spd-evalpairs")
        defer { try? FileManager.default.removeItem(at: root) }
        let clean = root.appendingPathComponent("clean"), noisy = root.appendingPathComponent("noisy")
        for dir in [clean, noisy.appendingPathComponent("f32"), noisy.appendingPathComponent("png")] {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        try ImageCodec.write(gray(3, 4, seed: 1), to: clean.appendingPathComponent("a.png"), options: .init(fsync: false))
        try ImageCodec.write(gray(2, 2, seed: 2), to: clean.appendingPathComponent("b.png"), options: .init(fsync: false))
        try Data("not an image".utf8).write(to: clean.appendingPathComponent("notes.txt"))
        // a: 3×4 float32 with values 0.5, 1.5, …; c has no clean image.
        let values = (0..<12).map { Float($0) + 0.5 }
        try values.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: noisy.appendingPathComponent("f32/a.f32"))
        try Data(count: 16).write(to: noisy.appendingPathComponent("f32/c.f32"))
        let index = """
            {"images": [{"name": "a", "f32": "f32/a.f32", "shape": [3, 4]},
                        {"name": "c", "f32": "f32/c.f32", "shape": [2, 2]}]}
            """
        try Data(index.utf8).write(to: noisy.appendingPathComponent("index.json"))
        try ImageCodec.write(gray(3, 4, seed: 5), to: noisy.appendingPathComponent("png/a.png"), options: .init(fsync: false))
        try ImageCodec.write(gray(3, 3, seed: 5), to: noisy.appendingPathComponent("png/b.png"), options: .init(fsync: false))

        let f32 = try EvaluationDataset(noisy: noisy, clean: clean)
        XCTAssertEqual(f32.pairs.map(\.name), ["a"])
        XCTAssertEqual(f32.unmatched, ["c"])
        XCTAssertEqual(f32.pairs[0].noisy, .float32(noisy.appendingPathComponent("f32/a.f32"), height: 3, width: 4, channels: 1))
        let (n, c) = try f32.pairs[0].load()
        XCTAssertEqual(n.pixels, values)
        XCTAssertEqual(c.pixels, (0..<12).map { Float(($0 * 37 + 11) % 256) })

        let png = try EvaluationDataset(noisy: noisy.appendingPathComponent("png"), clean: clean)
        XCTAssertEqual(png.pairs.map(\.name), ["a", "b"])
        XCTAssertEqual(png.pairs[0].noisy, .encoded(noisy.appendingPathComponent("png/a.png")))
        XCTAssertNoThrow(try png.pairs[0].load())
        // b: 3×3 noisy against a 2×2 clean image.
        XCTAssertThrowsError(try png.pairs[1].load()) { error in
            XCTAssertEqual(error as? EvaluationDataError, .shapeMismatch(name: "b", noisy: "3×3×1", clean: "2×2×1"))
        }
        XCTAssertThrowsError(try EvaluationDataset(noisy: clean, clean: noisy.appendingPathComponent("f32"))) { error in
            XCTAssertEqual(error as? EvaluationDataError, .noPairs(noisy: clean.path, clean: noisy.appendingPathComponent("f32").path))
        }
    }

    func testSharedSetsPair() throws {
        let set12 = try EvaluationDataset(noisy: Fixtures.data("set12-noisy25"), clean: Fixtures.data("Set12"))
        XCTAssertEqual(set12.pairs.map(\.name), (1...12).map { String(format: "%02d", $0) })
        XCTAssertEqual(set12.pairs[8].noisy, .float32(Fixtures.data("set12-noisy25/f32/09.f32"), height: 512, width: 512, channels: 1))
        let bsd = try EvaluationDataset(noisy: Fixtures.data("bsd68-noisy25/png"), clean: Fixtures.data("BSD68"))
        XCTAssertEqual(bsd.pairs.count, 68)
        XCTAssertEqual(bsd.pairs.first?.clean.lastPathComponent, "test001.png")
    }
}
