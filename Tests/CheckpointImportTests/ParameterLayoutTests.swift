import CheckpointImport
import Foundation
import TestSupport
import XCTest

final class ParameterLayoutTests: XCTestCase {
    /// Reference counts from `../shared/spec/reference-model.md` §1.5 (verified there by building the TF graph).
    func testPaperModelParameterCounts() throws {
        let paper = ModelArchitecture.paper
        try paper.validate()
        XCTAssertEqual(paper.trainableParameterCount, 5_563_680)
        let specs = paper.parameterSpecs
        XCTAssertEqual(specs.filter { $0.role.isTrainable }.count, 44)
        XCTAssertEqual(specs.filter { !$0.role.isTrainable }.count, 22)
        XCTAssertEqual(specs.filter { !$0.role.isTrainable }.reduce(0) { $0 + $1.count }, 4_608)
        XCTAssertEqual(ModelArchitecture(inputChannels: 3).trainableParameterCount, 5_565_600)
    }

    func testSmallFixtureShapesMatchVariablesJSON() throws {
        struct Variable: Decodable { let name: String; let shape: [Int]; let role: String }
        let data = try Data(contentsOf: Fixtures.fixture("tf-ckpt-small/variables.json"))
        let listed = try JSONDecoder().decode([Variable].self, from: data)
            .filter { $0.role == "trainable" || $0.role == "bn_stat" }
        let specs = ModelArchitecture(baseFilters: 5).parameterSpecs
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: specs.map { ($0.name, $0.shape) }),
                       Dictionary(uniqueKeysWithValues: listed.map { ($0.name, $0.shape) }))
    }
}
