import Foundation

/// Sentences to embed, read from text a user gave (a file or standard input): one per line. The
/// text must be UTF-8 and no line may be empty, so that the n-th embedding is the n-th line; a
/// problem names its line.
public enum SentenceInput {
    /// Why the text cannot be used, with the 1-based line it is on.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case notUTF8(line: Int)
        case emptyLine(line: Int)
        case noSentences

        public var description: String {
            switch self {
            case let .notUTF8(line): "line \(line) is not UTF-8 text"
            case let .emptyLine(line): "line \(line) is empty (one sentence per line; the n-th embedding is the n-th line)"
            case .noSentences: "no sentences to embed"
            }
        }
    }

    /// The lines of `data` (`\n` or `\r\n`; a final newline ends the last line, it does not add one).
    public static func sentences(_ data: Data) -> Result<[String], Problem> {
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var sentences: [String] = []
        for (index, line) in lines.enumerated() {
            let bytes = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
            guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(.notUTF8(line: index + 1)) }
            if text.allSatisfy(\.isWhitespace) { return .failure(.emptyLine(line: index + 1)) }
            sentences.append(text)
        }
        return sentences.isEmpty ? .failure(.noSentences) : .success(sentences)
    }
}
