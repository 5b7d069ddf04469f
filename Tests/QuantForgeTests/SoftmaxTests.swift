import Foundation
import QuantForge
import Testing

/// Softmax with a scale and a key-padding mask, as a generated kernel: bit-exact against
/// `ReferenceOperators.softmax` on every ISA here (row lengths below and past the 16-lane groups,
/// valid prefixes from 0 to the whole row, large and tiny logits, in place); `RealFunctions.exp`
/// within 2 ulp of e^x on its range.
struct SoftmaxTests {
    static let isas = isasUnderTest

    @Test(arguments: isas)
    func randomRowsAreBitExact(_ isa: ISA) throws {
        var random = TestRandom(seed: 23 &+ UInt64(isa.rawValue.count))
        let engine = try Engine(isa: isa, threads: 1)
        for (trial, columns) in [1, 5, 16, 17, 40, 128, 257, random.int(1...300)].enumerated() {
            let op = try Softmax(scale: trial % 2 == 0 ? 1 : 0.125)
            let kernel = try engine.compile(op)
            let rows = random.int(1...4)
            let valid = [columns, 0, 1, random.int(0...columns)][trial % 4]
            let magnitude: Float = [3, 100, 1e-3, 1e30][trial % 4]
            var x = (0..<(rows * columns)).map { _ in random.float(-1...1) * magnitude }
            if trial == 6 { x[0] = .infinity }   // a row whose maximum is +inf
            let y = try kernel.run(x, columns: columns, valid: valid)
            let expected = ReferenceOperators.softmax(op, x: x, rows: rows, columns: columns, valid: valid)
            let same = zip(y, expected).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
            #expect(same, "\(isa): \(rows)×\(columns) valid \(valid) magnitude \(magnitude)")
            var inPlace = x
            try inPlace.withUnsafeMutableBufferPointer { buffer throws(QuantError) in
                try kernel.run(x: buffer.baseAddress!, y: buffer.baseAddress!, rows: rows, columns: columns, valid: valid)
            }
            #expect(zip(inPlace, expected).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }, "\(isa) in place")
        }
    }

    @Test func expIsAccurateAndSoftmaxSumsToOne() throws {
        var worst = 0.0
        var t = RealFunctions.expLowerClamp
        while t < 88 {
            let exact: Double = Foundation.exp(Double(t))
            let got = Double(RealFunctions.exp(t))
            let ulp = Double(Float(exact).ulp)
            worst = max(worst, abs(got - exact) / ulp)
            t += 0.0137
        }
        #expect(worst <= 2, "exp: \(worst) ulp")
        #expect(RealFunctions.exp(0) == 1 && RealFunctions.exp(-1000) > 0 && RealFunctions.exp(.nan).isNaN)
        // Below the clamp: the clamp's value, never a subnormal.
        #expect(RealFunctions.exp(-1000) == RealFunctions.exp(RealFunctions.expLowerClamp) && RealFunctions.exp(-1000).isNormal)
        var random = TestRandom(seed: 9)
        let op = try Softmax(scale: 0.5)
        let x = (0..<300).map { _ in random.float(-8...8) }
        let y = ReferenceOperators.softmax(op, x: x, rows: 3, columns: 100, valid: 70)
        for row in 0..<3 {
            #expect(abs(y[(row * 100)..<(row * 100 + 70)].reduce(0, +) - 1) < 1e-5)
            #expect(y[(row * 100 + 70)..<(row * 100 + 100)].allSatisfy { $0 == 0 })
        }
        let kernel = try Engine(threads: 1).compile(op)
        #expect(throws: QuantError.self) { try kernel.run(x, columns: 100, valid: 101) }
        #expect(throws: QuantError.self) { try kernel.run(x, columns: 7) }
        #expect(throws: QuantError.self) { try Softmax(scale: 0) }
    }
}
