import Foundation

/// BERT's uncased tokenizer, as Hugging Face's `BertNormalizer` + `BertPreTokenizer` + `WordPiece`
/// define it: clean the text (drop control characters, whitespace becomes a space), put spaces
/// around CJK ideographs, strip accents (NFD, drop nonspacing marks), lowercase, split on
/// whitespace and punctuation, then greedy longest-match-first word pieces (`##` continuations,
/// `[UNK]` for a word that cannot be split or is longer than 100 characters). `encode` adds
/// `[CLS]` … `[SEP]` and truncates to `maxLength` ids.
public struct WordPieceTokenizer: Sendable {
    public let vocabulary: [String: Int32]
    public let unknown: Int32
    public let classify: Int32
    public let separator: Int32
    public let padding: Int32
    public var maxLength: Int
    static let maxWordCharacters = 100

    /// Reads `vocab.txt` (one token per line, the line number is its id).
    public init(vocabularyFile url: URL, maxLength: Int = 256) throws(ModelError) {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw .unreadable(path: url.path, reason: error.localizedDescription)
        }
        try self.init(tokens: text.split(separator: "\n", omittingEmptySubsequences: false).map {
            String($0.hasSuffix("\r") ? $0.dropLast() : $0)
        }, maxLength: maxLength)
    }

    public init(tokens: [String], maxLength: Int = 256) throws(ModelError) {
        var vocabulary: [String: Int32] = [:]
        for (index, token) in tokens.enumerated() where !token.isEmpty && vocabulary[token] == nil { vocabulary[token] = Int32(index) }
        func special(_ token: String) throws(ModelError) -> Int32 {
            guard let id = vocabulary[token] else { throw .vocabulary(reason: "no \(token) token") }
            return id
        }
        self.vocabulary = vocabulary
        unknown = try special("[UNK]")
        classify = try special("[CLS]")
        separator = try special("[SEP]")
        padding = try special("[PAD]")
        self.maxLength = max(2, maxLength)
    }

    /// `[CLS] pieces… [SEP]`, at most `maxLength` ids.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = [classify]
        for word in Self.preTokenize(Self.normalize(text)) {
            ids += wordPieces(word)
            if ids.count >= maxLength - 1 { break }
        }
        if ids.count > maxLength - 1 { ids.removeLast(ids.count - (maxLength - 1)) }
        return ids + [separator]
    }

    // MARK: Normalization (BertNormalizer: clean_text, handle_chinese_chars, strip_accents, lowercase)

    static func normalize(_ text: String) -> [Unicode.Scalar] {
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || isControl(scalar) { continue }
            if isWhitespace(scalar) { cleaned.append(" "); continue }
            if isChineseCharacter(scalar) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
                continue
            }
            cleaned.append(scalar)
        }
        // Strip accents: canonical decomposition, then drop nonspacing marks; then lowercase.
        let decomposed = String(cleaned).decomposedStringWithCanonicalMapping
        var stripped = String.UnicodeScalarView()
        for scalar in decomposed.unicodeScalars where scalar.properties.generalCategory != .nonspacingMark { stripped.append(scalar) }
        return Array(String(stripped).lowercased().unicodeScalars)
    }

    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" { return true }
        return scalar.properties.generalCategory == .spaceSeparator
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch scalar.properties.generalCategory {
        case .control, .format: return true
        default: return false
        }
    }

    static func isChineseCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F, 0x2B820...0x2CEAF,
             0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }

    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 33...47, 58...64, 91...96, 123...126: return true
        default: break
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    // MARK: Pre-tokenization (BertPreTokenizer) and WordPiece

    /// Words: maximal runs without whitespace, each punctuation character a word of its own.
    static func preTokenize(_ scalars: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in scalars {
            if isWhitespace(scalar) {
                if !current.isEmpty { words.append(current); current = [] }
            } else if isPunctuation(scalar) {
                if !current.isEmpty { words.append(current); current = [] }
                words.append([scalar])
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    func wordPieces(_ word: [Unicode.Scalar]) -> [Int32] {
        if word.count > Self.maxWordCharacters { return [unknown] }
        var pieces: [Int32] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int32? = nil
            while start < end {
                var piece = String(String.UnicodeScalarView(word[start..<end]))
                if start > 0 { piece = "##" + piece }
                if let id = vocabulary[piece] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unknown] }
            pieces.append(id)
            start = end
        }
        return pieces
    }
}
