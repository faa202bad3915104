import Denoiser
import Foundation
import XCTest

/// kill -9 at random moments, restart, repeat: every input ends in exactly one place with exactly one output.
/// Runs the real pipeline (fixture model) so that the kills land inside decoding, inference and delivery.
final class RecoveryIntegrationTests: XCTestCase {
    func testKillNineDuringARunLosesAndDuplicatesNothing() throws {
        let daemon = try DaemonHarness(processor: "denoise", settle: 0.2, label: "n2spd-kill")
        let count = 40
        var expected: [String: Data] = [:]
        for i in 0..<count {
            let data = try TestImages.png(width: 192, height: 128, seed: 500 + i)
            expected["k\(i).png"] = data
            try data.write(to: daemon.staging.appendingPathComponent("k\(i).png"))
        }
        for name in expected.keys.sorted() {
            XCTAssertEqual(rename(daemon.staging.appendingPathComponent(name).path, daemon.inbox.appendingPathComponent(name).path), 0)
        }
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        var progress: [Int] = []
        for _ in 0..<6 {
            try daemon.start()
            // Kill right after the daemon delivers something new, plus a random few milliseconds, so that the
            // kill lands mid-run (the next input is already claimed) on a fast idle machine as well as on a
            // loaded one; a fixed sleep let an idle machine finish all inputs before the first kill.
            let before = daemon.outputs().count
            let deadline = Date().addingTimeInterval(30)
            while daemon.outputs().count <= before && Date() < deadline { usleep(1_000) }
            usleep(UInt32.random(in: 0...15_000, using: &generator))
            if daemon.outputs().count == count { break }
            daemon.kill9()
            kills += 1
            progress.append(daemon.outputs().count)
        }
        if daemon.process == nil { try daemon.start() }
        daemon.waitUntil(40, "all \(count) outputs after \(kills) kills") {
            daemon.outputs().count == count && daemon.files(in: daemon.done).count == count
        }
        XCTAssertEqual(daemon.stop(), 0)

        // Exactly one output per input, under the input's own name (a second output would be "k3 (2).png").
        XCTAssertEqual(Set(daemon.outputs()), Set(expected.keys), "after \(kills) kill -9: outputs differ from inputs")
        XCTAssertEqual(Set(daemon.files(in: daemon.done)), Set(expected.keys))
        XCTAssertEqual(daemon.files(in: daemon.inbox), [])
        XCTAssertEqual(daemon.files(in: daemon.processing), [])
        XCTAssertEqual(daemon.files(in: daemon.failed), [])
        // Every input was moved, not copied or altered; every output is a complete, decodable image.
        for (name, data) in expected {
            XCTAssertEqual(try Data(contentsOf: daemon.done.appendingPathComponent(name)), data, name)
            let output = try ImageCodec.read(daemon.outbox.appendingPathComponent(name))
            XCTAssertEqual([output.width, output.height], [192, 128], name)
        }
        // No leftover temp outputs.
        let hidden = try FileManager.default.contentsOfDirectory(atPath: daemon.outbox.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(hidden, [])
        let recovered = daemon.log.components(separatedBy: "the processing area").count - 1
        print("kill -9 test: \(kills) kills (outputs after each: \(progress)), \(recovered) claims recovered or re-queued, "
              + "\(count) inputs, \(daemon.outputs().count) outputs")
        XCTAssertGreaterThan(kills, 0, "the run finished before any kill: make it longer")
        XCTAssertGreaterThan(recovered, 0, "no kill landed while a file was claimed")
    }
}
