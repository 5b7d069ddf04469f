import Foundation
import QuantForge
import QuantForgeTooling
import QuantWorkflow
import Testing

/// `qforge embed` on the real model: sentences from arguments and files, JSON lines and .npy, the
/// comparison with f32; bad input is a message and a non-zero exit, never a crash.
@Suite(.serialized) struct EmbedCommandTests {
    static func embed(_ arguments: [String], in directory: URL? = nil) throws -> DataSafetyTests.Run {
        try DataSafetyTests.qforge(["embed"] + arguments, in: directory, seconds: 300)
    }

    static func lines(_ run: DataSafetyTests.Run) throws -> [[String: Any]] {
        try run.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test func argumentsAndFilesGiveOneEmbeddingPerSentence() throws {
        let scratch = try DataSafetyTests.Scratch()
        let run = try Self.embed(["A cat sits on the mat.", "Stocks fell sharply today.", "A cat sits on the mat.", "--compare", "f32"])
        #expect(run.status == 0, "\(run.output)")
        let objects = try Self.lines(run)
        #expect(objects.count == 3)
        let embeddings = objects.compactMap { $0["embedding"] as? [Double] }
        #expect(embeddings.count == 3 && embeddings.allSatisfy { $0.count == 384 })
        for embedding in embeddings { #expect(abs(embedding.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4, "L2-normalized") }
        #expect(embeddings[0] == embeddings[2], "the same sentence, the same embedding")
        for object in objects { #expect((object["cosine_to_f32"] as? Double ?? 0) > 0.99) }
        #expect(objects.map { $0["index"] as? Int } == [0, 1, 2])

        // 4-bit weights: the same interface, close to f32.
        let fourBit = try Self.embed(["A cat sits on the mat.", "--mode", "nbits4-asym", "--compare", "f32"])
        #expect(fourBit.status == 0, "\(fourBit.output)")
        #expect(try Self.lines(fourBit).allSatisfy { ($0["cosine_to_f32"] as? Double ?? 0) > 0.93 })

        // The same sentences from a file, CRLF included, as a .npy matrix.
        let file = try scratch.write("sentences.txt", "A cat sits on the mat.\r\nStocks fell sharply today.\n")
        let npy = scratch.path("embeddings.npy")
        let fromFile = try Self.embed(["--file", file, "--format", "npy", "--out", npy])
        #expect(fromFile.status == 0, "\(fromFile.output)")
        let data = try Data(contentsOf: URL(fileURLWithPath: npy))
        #expect(NPYFormat.isNPY(data))
        let start = 10 + (Int(data[8]) | Int(data[9]) << 8)
        #expect(data.count == start + 2 * 384 * 4)
        let first = (0..<384).map { i in Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[start + 4 * i + $1]) << (8 * $1) }) }
        // JSON carries each float's shortest decimal form, which reads back as the same float.
        let same = first == embeddings[0].map { Float($0) }
        #expect(same, "file (.npy) and arguments (JSON) give the same embedding")
        // A rerun may replace its own output; a file QuantForge did not write stays.
        #expect(try Self.embed(["--file", file, "--format", "npy", "--out", npy]).status == 0)
        DataSafetyTests.expectRefused(try Self.embed(["x", "--out", file]), mentioning: ["not written by QuantForge"], "embed over the input")
    }

    @Test func badInputIsAMessage() throws {
        let scratch = try DataSafetyTests.Scratch()
        let empty = try scratch.write("empty-line.txt", "one\n\nthree\n")
        DataSafetyTests.expectRefused(try Self.embed(["--file", empty]), mentioning: ["line 2 is empty"], "an empty line")
        let binary = scratch.path("binary.txt")
        try Data([0x6F, 0x6B, 0x0A, 0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: binary))
        DataSafetyTests.expectRefused(try Self.embed(["--file", binary]), mentioning: ["line 2 is not UTF-8"], "non-UTF-8 bytes")
        DataSafetyTests.expectRefused(try Self.embed(["--model", scratch.path("no-model"), "x"]), mentioning: ["fetch_minilm"],
                                      "a missing model")
        DataSafetyTests.expectRefused(try Self.embed(["x", "--format", "npy"]), mentioning: ["--out"], "binary to a terminal")
        DataSafetyTests.expectRefused(try Self.embed(["x", "--file", empty]), mentioning: ["not both"], "two sources")
        DataSafetyTests.expectRefused(try Self.embed(["x", "--compare", "int8"]), mentioning: ["f32"], "an unknown comparison")
        DataSafetyTests.expectRefused(try Self.embed(["x", "--batch", "0"]), mentioning: ["batch"], "a zero batch")

        // Standard input, the default source.
        func piped(_ text: String) throws -> ExternalProcess.Outcome {
            try ExternalProcess.run("/bin/sh", ["-c", "printf '\(text)' | /usr/bin/timeout 300 \"$0\" embed", DataSafetyTests.qforge])
        }
        let piped2 = try piped("first\\nsecond\\n")
        #expect(piped2.status == 0, "\(piped2.stderr)")
        #expect(piped2.stdout.split(separator: "\n").count == 2)
        let pipedEmpty = try piped("first\\n\\nthird\\n")
        #expect(pipedEmpty.status > 0 && pipedEmpty.status < 124 && pipedEmpty.stderr.contains("standard input: line 2 is empty"),
                "\(pipedEmpty.status) \(pipedEmpty.stderr)")

        // 10,000 words: truncated to the model's 256 tokens, with a warning, and embedded.
        let long = try scratch.write("long.txt", Array(repeating: "word", count: 10_000).joined(separator: " ") + "\n")
        let run = try Self.embed(["--file", long, "--mode", "f32"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.stderr.contains("has 10002 tokens; the model reads the first 256"))
        #expect(try Self.lines(run).count == 1)
    }
}
