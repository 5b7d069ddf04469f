import Foundation
import QuantForge

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
        /// Raw bytes in the tensor's element type (little endian).
        var rawBytes: [UInt8] {
            switch dtype {
            case "uint8", "int8": return bytes
            case "uint16", "int16": return data.flatMap { value -> [UInt8] in
                let bits = UInt16(truncatingIfNeeded: Int(value)); return [UInt8(bits & 0xFF), UInt8(bits >> 8)] }
            case "int32": return ints.withUnsafeBytes { Array($0) }
            default: return floats.withUnsafeBytes { Array($0) }
            }
        }
        var elementType: ElementType {
            switch dtype {
            case "uint8": .u8
            case "int8": .s8
            case "uint16": .u16
            case "int16": .s16
            case "int32": .s32
            default: .f32
            }
        }
    }

    /// Integer attributes (`axis`, `block_size`, `pads`, ...), as lists.
    struct Attribute: Decodable {
        let ints: [Int]
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Int.self) { ints = [value] } else { ints = try container.decode([Int].self) }
        }
    }

    let name: String
    let op_type: String
    let attributes: [String: Attribute]?
    let inputs: [Tensor]
    let outputs: [Tensor]

    func input(_ name: String) -> Tensor? { inputs.first { $0.name == name } }
    func attribute(_ name: String) -> [Int]? { attributes?[name]?.ints }

    static func load(prefix: String) throws -> [OnnxFixture] {
        let directory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/onnx")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted()
        return try files.map { try JSONDecoder().decode(OnnxFixture.self, from: Data(contentsOf: directory.appendingPathComponent($0))) }
    }
}
