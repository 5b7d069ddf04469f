import Foundation

/// One ONNX node test case, as written by tools/extract_onnx_fixtures.py.
struct OnnxFixture: Decodable {
    struct Tensor: Decodable {
        let name: String
        let dtype: String
        let shape: [Int]
        let data: [Double]

        /// The values as raw bytes of an 8-bit tensor (s8 as bit patterns).
        var bytes: [UInt8] { data.map { UInt8(truncatingIfNeeded: Int($0)) } }
        var ints: [Int32] { data.map { Int32($0) } }
        var floats: [Float] { data.map { Float($0) } }
    }

    let name: String
    let op_type: String
    let inputs: [Tensor]
    let outputs: [Tensor]

    func input(_ name: String) -> Tensor? { inputs.first { $0.name == name } }

    static func load(prefix: String) throws -> [OnnxFixture] {
        let directory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/onnx")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted()
        return try files.map { try JSONDecoder().decode(OnnxFixture.self, from: Data(contentsOf: directory.appendingPathComponent($0))) }
    }
}
