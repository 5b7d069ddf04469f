import Foundation
import QuantWorkflow
import Testing

/// The safetensors loader refuses truncated and malformed files with clear errors, and the
/// WordPiece tokenizer reproduces Hugging Face's token ids for the model's vocabulary.
struct ModelFileTests {
    /// A valid file: header length, JSON header, data.
    static func file(header: String, data: [UInt8]) -> [UInt8] {
        let json = Array(header.utf8)
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) }
        bytes += json + data
        return bytes
    }

    static let floats: [Float] = [1.5, -2, 3.25, 0, 7, 8]

    @Test func readsAValidFile() throws {
        let data = Self.floats.withUnsafeBytes { Array($0) }
        let bytes = Self.file(header: #"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#, data: data)
        let file = try SafetensorsFile(bytes: bytes)
        #expect(file.metadata["format"] == "pt")
        #expect(try file.floats("w", shape: [2, 3]) == Self.floats)
        #expect(throws: ModelError.self) { try file.floats("w", shape: [3, 2]) }
        #expect(throws: ModelError.self) { try file.floats("missing") }
    }

    @Test func rejectsMalformedFiles() {
        let data = Self.floats.withUnsafeBytes { Array($0) }
        let valid = #"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("short length", [1, 2, 3]),
            ("length past the end", Array(Self.file(header: valid, data: data).prefix(20))),
            ("truncated data", Array(Self.file(header: valid, data: data).dropLast(4))),
            ("huge header length", [0, 0, 0, 0, 0, 0, 0, 1] + Array(repeating: 0x20, count: 8)),
            ("not JSON", Self.file(header: "{nope", data: data)),
            ("not an object", Self.file(header: "[1,2]", data: data)),
            ("unknown dtype", Self.file(header: #"{"w":{"dtype":"F33","shape":[2,3],"data_offsets":[0,24]}}"#, data: data)),
            ("negative dimension", Self.file(header: #"{"w":{"dtype":"F32","shape":[-2,3],"data_offsets":[0,24]}}"#, data: data)),
            ("size mismatch", Self.file(header: #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,24]}}"#, data: data)),
            ("offsets reversed", Self.file(header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: data)),
            ("offsets outside", Self.file(header: #"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[4,28]}}"#, data: data)),
            ("missing offsets", Self.file(header: #"{"w":{"dtype":"F32","shape":[2,3]}}"#, data: data)),
            ("huge shape", Self.file(header: #"{"w":{"dtype":"F32","shape":[1099511627775,1099511627775],"data_offsets":[0,24]}}"#, data: data)),
        ]
        for (name, bytes) in cases {
            #expect(throws: ModelError.self, "\(name)") { try SafetensorsFile(bytes: bytes) }
        }
        #expect(throws: ModelError.self) { try SafetensorsFile(contentsOf: URL(fileURLWithPath: "/nonexistent/model.safetensors")) }
    }

    @Test func tokenizerMatchesHuggingFace() throws {
        let vocabulary = ModelLocation.miniLM.appendingPathComponent("vocab.txt")
        try #require(FileManager.default.fileExists(atPath: vocabulary.path), "run tools/fetch_minilm.sh first (\(vocabulary.path))")
        let tokenizer = try WordPieceTokenizer(vocabularyFile: vocabulary)
        let reference = try MiniLMReference.load()
        #expect(reference.tokens.count >= 12)
        for item in reference.tokens + reference.embeddings.map({ .init(text: $0.text, ids: $0.ids) }) {
            #expect(tokenizer.encode(item.text) == item.ids, "\(item.text)")
        }
        // Truncation keeps [CLS] … [SEP] within the limit.
        var short = tokenizer
        short.maxLength = 5
        let ids = short.encode("one two three four five six")
        #expect(ids.count == 5 && ids.first == tokenizer.classify && ids.last == tokenizer.separator)
        #expect(throws: ModelError.self) { try WordPieceTokenizer(tokens: ["a", "b"]) }
    }
}

/// tools/minilm_reference.py's output: Hugging Face token ids and NumPy embeddings.
struct MiniLMReference: Decodable {
    struct Tokens: Decodable { let text: String; let ids: [Int32] }
    struct Embedding: Decodable { let text: String; let ids: [Int32]; let embedding: [Float] }
    let tokens: [Tokens]
    let embeddings: [Embedding]

    static func load() throws -> MiniLMReference {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/minilm_reference.json")
        return try JSONDecoder().decode(MiniLMReference.self, from: Data(contentsOf: url))
    }
}
