import Foundation
import QuantForge

/// What `qforge minilm` reports for one mode: accuracy against the f32 model (embedding cosine on
/// the evaluation set, ranking agreement on the similarity set), latency per sentence at batch 1
/// and batch 32 (one thread), and the model's size in memory.
public struct MiniLMModeReport: Codable, Sendable {
    public var mode: String
    public var method: String?
    public var cosineMean: Double
    public var cosineMin: Double
    /// Fraction of similarity queries whose candidates are ranked exactly as by f32.
    public var rankingAgreement: Double
    /// Mean Kendall τ between the mode's and f32's candidate rankings.
    public var kendallTau: Double
    public var msBatch1: Double
    public var msBatch32: Double
    public var bytes: Int

    enum CodingKeys: String, CodingKey {
        case mode, method, bytes
        case cosineMean = "cosine_mean", cosineMin = "cosine_min", rankingAgreement = "ranking_agreement", kendallTau = "kendall_tau"
        case msBatch1 = "ms_batch1", msBatch32 = "ms_batch32"
    }
}

/// Runs the comparison.
public struct MiniLMEvaluation {
    public let model: MiniLM
    public let engine: Engine
    public let evaluation: [String]
    let f32Evaluation: [[Float]]
    let f32Similarity: [[[Float]]]

    public init(model: MiniLM, engine: Engine, evaluation: [String] = MiniLMSentences.evaluation) throws(ModelError) {
        self.model = model
        self.engine = engine
        self.evaluation = evaluation
        let f32 = try MiniLMRunner(model: model, mode: .f32, engine: engine)
        f32Evaluation = Self.embedInBatches(f32, evaluation)
        f32Similarity = MiniLMSentences.similarity.map { f32.embed([$0.query] + $0.candidates) }
    }

    static func embedInBatches(_ runner: MiniLMRunner, _ sentences: [String], batch: Int = 32) -> [[Float]] {
        stride(from: 0, to: sentences.count, by: batch).flatMap { runner.embed(Array(sentences[$0..<min(sentences.count, $0 + batch)])) }
    }

    /// Candidate order by cosine to the query (most similar first).
    static func ranking(_ embeddings: [[Float]]) -> [Int] {
        let scores = embeddings.dropFirst().map { cosineSimilarity(embeddings[0], $0) }
        return scores.indices.sorted { scores[$0] > scores[$1] }
    }

    static func kendallTau(_ a: [Int], _ b: [Int]) -> Double {
        let position = Dictionary(uniqueKeysWithValues: b.enumerated().map { ($1, $0) })
        var concordant = 0, discordant = 0
        for i in 0..<a.count {
            for j in (i + 1)..<a.count {
                if position[a[i]]! < position[a[j]]! { concordant += 1 } else { discordant += 1 }
            }
        }
        let pairs = concordant + discordant
        return pairs == 0 ? 1 : Double(concordant - discordant) / Double(pairs)
    }

    /// Seconds per sentence: the best of `repeats` runs of `work` over `sentences` sentences.
    static func secondsPerSentence(repeats: Int, sentences: Int, _ work: () -> Void) -> Double {
        work()  // warm-up
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            work()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best / Double(sentences)
    }

    /// Accuracy, latency and size of `runner` (timed with `repeats` runs, best kept).
    public func report(_ runner: MiniLMRunner, method: String? = nil, repeats: Int = 3) -> MiniLMModeReport {
        let embeddings = Self.embedInBatches(runner, evaluation)
        let cosines = zip(embeddings, f32Evaluation).map { cosineSimilarity($1, $0) }
        var identical = 0, tau = 0.0
        for (index, group) in MiniLMSentences.similarity.enumerated() {
            let mine = Self.ranking(runner.embed([group.query] + group.candidates)), theirs = Self.ranking(f32Similarity[index])
            if mine == theirs { identical += 1 }
            tau += Self.kendallTau(mine, theirs)
        }
        let batch1 = Self.secondsPerSentence(repeats: repeats, sentences: evaluation.count) {
            for sentence in evaluation { _ = runner.embed([sentence]) }
        }
        let batch = Array(evaluation.prefix(32))
        let batch32 = Self.secondsPerSentence(repeats: repeats * 2, sentences: batch.count) { _ = runner.embed(batch) }
        let groups = Double(MiniLMSentences.similarity.count)
        return MiniLMModeReport(mode: runner.mode.name, method: method, cosineMean: cosines.reduce(0, +) / Double(cosines.count),
                                cosineMin: cosines.min() ?? 0, rankingAgreement: Double(identical) / groups, kendallTau: tau / groups,
                                msBatch1: batch1 * 1e3, msBatch32: batch32 * 1e3, bytes: runner.modelBytes)
    }
}

extension MiniLMRunner.Mode {
    /// The short name in reports: f32, dynamic, dynamic-per-token, static, nbits4, nbits4-asym.
    public var name: String {
        switch self {
        case .f32: "f32"
        case let .dynamic(perRow): perRow ? "dynamic-per-token" : "dynamic"
        case .static: "static"
        case let .nbits4(asymmetric): asymmetric ? "nbits4-asym" : "nbits4"
        }
    }
}
