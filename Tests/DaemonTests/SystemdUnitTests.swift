import Foundation
import TestSupport
import XCTest

/// `scripts/verify-units.sh`: `systemd-analyze verify` on the units must print nothing.
final class SystemdUnitTests: XCTestCase {
    func testUnitsVerifyWithoutAnyWarning() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") || FileManager.default.isExecutableFile(atPath: "/bin/systemd-analyze") else {
            throw XCTSkip("systemd-analyze is not installed")
        }
        let script = Process()
        script.executableURL = Fixtures.repositoryRoot.appendingPathComponent("scripts/verify-units.sh")
        let output = Pipe()
        script.standardOutput = output
        script.standardError = output
        try script.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        script.waitUntilExit()
        XCTAssertEqual(script.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("verify-units: n2spd.service OK"), text)
        XCTAssertTrue(text.contains("verify-units: n2spd@example.service OK"), text)
    }
}
