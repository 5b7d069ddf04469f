import Foundation
import QuantForge
import Testing

/// Attention computed in f64 (softmax(α·QKᵀ) over the valid keys, times V), and the check both
/// attention operators' tests make against it: per output row of each head, cosine ≥ `minimum`.
func expectCloseToExactAttention(_ y: [Float], qkv: [Float], heads: Int, headSize d: Int, length: Int, valid: Int, minimum: Double) {
    let inputColumns = 3 * heads * d, outputColumns = heads * d
    for head in 0..<heads {
        for i in 0..<length {
            func value(_ part: Int, _ t: Int, _ c: Int) -> Double { Double(qkv[t * inputColumns + part * outputColumns + head * d + c]) }
            let logits = (0..<valid).map { j in (0..<d).reduce(0.0) { $0 + value(0, i, $1) * value(1, j, $1) } / Double(d).squareRoot() }
            let top = logits.max()!, weights = logits.map { Foundation.exp($0 - top) }, total = weights.reduce(0, +)
            let exact = (0..<d).map { c in (0..<valid).reduce(0.0) { $0 + weights[$1] / total * value(2, $1, c) } }
            let got = (0..<d).map { Double(y[i * outputColumns + head * d + $0]) }
            let dot = zip(exact, got).reduce(0) { $0 + $1.0 * $1.1 }
            let norms = exact.reduce(0) { $0 + $1 * $1 }.squareRoot() * got.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(dot / norms > minimum, "head \(head) row \(i): cosine \(dot / norms)")
        }
    }
}
