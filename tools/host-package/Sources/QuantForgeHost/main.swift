// A host program using QuantForge as a versioned dependency: it JIT-compiles one QLinearMatMul
// (u8 × s8 → u8, per-column weight scales, with a tail in every dimension) for this CPU, runs it,
// and checks it byte for byte against the reference interpreter. Exit status 0 only when they agree.
import Foundation
import QuantForge
import QuantWorkflow

let m = 37, k = 70, n = 45
var generator = SeededGenerator(seed: 2026)
let a = generator.bytes(m * k)
let b = generator.bytes(k * n)
let scales = (0..<n).map { _ in Float.random(in: 0.001...0.02, using: &generator) }
let op = try MatMul(
    m: m, k: k, n: n, aType: .u8, bType: .s8,
    aQuant: .perTensor(scale: 0.02, zeroPoint: 128),
    bQuant: .perChannel(scales: scales, zeroPoints: Array(repeating: 0, count: n)),
    output: .requantized(Requantization(type: .u8, output: .perTensor(scale: 0.05, zeroPoint: 128)))
)

let engine = try Engine()
let kernel = try engine.compile(op)
let c = try kernel.run(a: a, weights: try kernel.packWeights(b))
let expected = ReferenceMatMul.run(op, a: a, b: b, m: m)

// QuantWorkflow is a product too: derive a scheme's parameters from a range.
let scheme = QuantizationScheme(type: .u8)
let derived = scheme.parameters(lower: -1, upper: 1)

print(QuantForgeVersion.description)
print("isa \(engine.isa.rawValue), schedule \(kernel.schedule)")
print("u8 parameters for [-1, 1]: scale \(derived.scales[0]), zero point \(derived.zeroPoints[0])")
if c == expected {
    print("\(m)×\(k)×\(n) QLinearMatMul: bit-exact with the reference interpreter")
} else {
    let mismatches = zip(c, expected).filter { $0 != $1 }.count
    print("\(m)×\(k)×\(n) QLinearMatMul: \(mismatches) of \(c.count) bytes differ from the reference interpreter")
    exit(1)
}
