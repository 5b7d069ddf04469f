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

/// A model whose files disagree with each other or hold impossible values is refused when it is
/// loaded, never read out of bounds or run into NaN embeddings reported as fine: a vocab.txt with
/// more tokens than the embedding table has rows, a token-type table of the wrong shape, a NaN
/// weight.
struct ModelConsistencyTests {
    static let model = ModelLocation.miniLM

    /// A copy of the model folder with `vocab.txt` and `model.safetensors` changed by the closures.
    static func variant(vocabulary: (String) -> String = { $0 }, tensors: (inout [UInt8]) throws -> Void = { _ in }) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let vocab = try String(contentsOf: model.appendingPathComponent("vocab.txt"), encoding: .utf8)
        try vocabulary(vocab).write(to: folder.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        var bytes = Array(try Data(contentsOf: model.appendingPathComponent("model.safetensors")))
        try tensors(&bytes)
        try Data(bytes).write(to: folder.appendingPathComponent("model.safetensors"))
        return folder
    }

    /// Rewrites the JSON header of a safetensors file (the data stays where it is).
    static func editHeader(_ bytes: inout [UInt8], _ edit: (inout [String: Any]) -> Void) throws {
        let length = Int((0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) })
        var header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as! [String: Any]
        edit(&header)
        var json = Array(try JSONSerialization.data(withJSONObject: header))
        while json.count < length { json.append(0x20) }  // the same length: offsets stay valid
        try #require(json.count == length)
        bytes.replaceSubrange(8..<(8 + length), with: json)
    }

    static func dataOffset(_ bytes: [UInt8], _ name: String) throws -> Int {
        let length = Int((0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) })
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as! [String: Any]
        let offsets = (header[name] as! [String: Any])["data_offsets"] as! [Int]
        return 8 + length + offsets[0]
    }

    @Test func filesThatDisagreeAreRefused() throws {
        try #require(FileManager.default.fileExists(atPath: Self.model.appendingPathComponent("model.safetensors").path),
                     "run tools/fetch_minilm.sh first")
        let moreTokens = try Self.variant(vocabulary: { $0 + (0..<40).map { "extra\($0)\n" }.joined() })
        let smallTokenTypes = try Self.variant(tensors: { bytes in
            try Self.editHeader(&bytes) { header in
                var entry = header["embeddings.token_type_embeddings.weight"] as! [String: Any]
                let start = (entry["data_offsets"] as! [Int])[0]
                entry["shape"] = [1, 1]
                entry["data_offsets"] = [start, start + 4]
                header["embeddings.token_type_embeddings.weight"] = entry
            }
        })
        let notANumber = try Self.variant(tensors: { bytes in
            let offset = try Self.dataOffset(bytes, "encoder.layer.3.output.dense.weight")
            withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { bytes.replaceSubrange(offset..<(offset + 4), with: $0) }
        })
        defer { for folder in [moreTokens, smallTokenTypes, notANumber] { try? FileManager.default.removeItem(at: folder) } }
        for (folder, words) in [(moreTokens, "word embeddings"), (smallTokenTypes, "token_type_embeddings"), (notANumber, "finite")] {
            do {
                _ = try MiniLM(directory: folder)
                Issue.record("\(words): loaded")
            } catch {
                #expect("\(error)".contains(words), "\(error)")
            }
        }
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
