import Foundation
import TestSupport
import XCTest

import Denoiser

final class ImageInputCollectorTests: XCTestCase {
    func testFoldersFilesAndMissingPaths() throws {
        let root = try Fixtures.temporaryDirectory("n2spd-collect")
        defer { try? FileManager.default.removeItem(at: root) }
        let fm = FileManager.default
        for name in ["b.PNG", "a.jpg", "c.jpeg", "notes.txt", ".hidden.png", ".x.png.1234.tmp"] {
            try Data([1]).write(to: root.appendingPathComponent(name))
        }
        let sub = root.appendingPathComponent("sub")
        try fm.createDirectory(at: sub, withIntermediateDirectories: false)
        try Data([1]).write(to: sub.appendingPathComponent("d.png"))
        let explicit = root.appendingPathComponent("notes.txt")

        let flat = ImageInputCollector.collect([root.path, explicit.path, root.appendingPathComponent("gone.png").path],
                                               recursive: false)
        XCTAssertEqual(flat.files.map(\.lastPathComponent), ["a.jpg", "b.PNG", "c.jpeg", "notes.txt"])
        XCTAssertEqual(flat.problems, [.notFound(path: root.appendingPathComponent("gone.png").path)])

        let deep = ImageInputCollector.collect([root.path, root.appendingPathComponent("a.jpg").path], recursive: true)
        XCTAssertEqual(deep.files.map(\.lastPathComponent), ["a.jpg", "b.PNG", "c.jpeg", "d.png"], "deduplicated, sorted per folder")
        XCTAssertEqual(deep.problems, [])
    }
}
