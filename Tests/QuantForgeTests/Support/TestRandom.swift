import QuantForge

/// Deterministic random numbers for tests (QuantForge's `SeededGenerator` with helpers), so that
/// every failure reproduces from its seed.
struct TestRandom: RandomNumberGenerator {
    private var generator: SeededGenerator
    init(seed: UInt64) { generator = SeededGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15) }
    mutating func next() -> UInt64 { generator.next() }

    mutating func bytes(_ count: Int) -> [UInt8] { generator.bytes(count) }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func float(_ range: ClosedRange<Float>) -> Float { Float.random(in: range, using: &self) }
    mutating func bool() -> Bool { Bool.random(using: &self) }
}
