import Foundation
import QuantWorkflow
import Testing

/// What `qforge embed` reads and writes: sentences one per line (UTF-8, none empty, the problem
/// named by its line) and NumPy's `.npy` float32 matrices.
struct EmbedInputTests {
    @Test func linesBecomeSentences() throws {
        #expect(try SentenceInput.sentences(Data("one\ntwo\r\nthree\n".utf8)).get() == ["one", "two", "three"])
        #expect(try SentenceInput.sentences(Data("no final newline".utf8)).get() == ["no final newline"])
        #expect(try SentenceInput.sentences(Data("héllo — 世界\n".utf8)).get() == ["héllo — 世界"])
    }

    @Test func problemsNameTheirLine() {
        #expect(SentenceInput.sentences(Data("one\n\nthree\n".utf8)) == .failure(.emptyLine(line: 2)))
        #expect(SentenceInput.sentences(Data("one\n \t \n".utf8)) == .failure(.emptyLine(line: 2)))
        #expect(SentenceInput.sentences(Data([0x6F, 0x6B, 0x0A, 0xFF, 0xFE, 0x0A])) == .failure(.notUTF8(line: 2)))
        #expect(SentenceInput.sentences(Data([0xC3])) == .failure(.notUTF8(line: 1)))  // a cut multi-byte character
        #expect(SentenceInput.sentences(Data()) == .failure(.noSentences))
        #expect(SentenceInput.sentences(Data("\n".utf8)) == .failure(.emptyLine(line: 1)))
    }

    /// The header is what numpy.load expects (magic, version 1.0, a dictionary padded so the data
    /// starts at a multiple of 64), and the values follow little-endian in row order.
    @Test func npyHoldsAFloat32Matrix() throws {
        let rows: [[Float]] = [[1, -2.5, .pi], [0, .greatestFiniteMagnitude, -0.0]]
        let data = NPYFormat.float32Matrix(rows, columns: 3)
        #expect(NPYFormat.isNPY(data))
        #expect(Array(data.prefix(8)) == [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let start = 10 + headerLength
        #expect(start % 64 == 0)
        let header = String(decoding: data[10..<start], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
        #expect(header.hasSuffix("\n"))
        #expect(data.count == start + 6 * 4)
        let values = (0..<6).map { i in
            Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[start + 4 * i + $1]) << (8 * $1) })
        }
        #expect(values.map(\.bitPattern) == rows.flatMap { $0 }.map(\.bitPattern))
        #expect(!NPYFormat.isNPY(Data("{\"index\": 0}".utf8)))
    }
}
