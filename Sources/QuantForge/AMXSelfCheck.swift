import Foundation

/// The first AMX use in a process checks the AMX kernels before trusting them: two small matmuls
/// with tails in every dimension (19 × 83 × 37: a 16-row tile and 3 rows, a 64-byte K step and
/// 19 bytes, a partial column tile), one `tdpbusd` (u8 × s8) and one `tdpbsud` with B's zero point
/// (row sums through the tile of ones), run with SIGILL caught and compared with the reference.
/// A mismatch, an illegal instruction or a build failure makes the engine fall back to the next
/// ISA with the reason in `Engine.isaFallbackReasons` (a denied permission never gets here:
/// `HostCPU` reports it). `QFORGE_AMX_FAULT=mismatch|sigill` injects the two faults.
public enum AMXSelfCheck {
    /// A fault the check injects.
    public enum Fault: String, Sendable, CaseIterable {
        /// One output value is changed before the comparison.
        case mismatch
        /// The kernel call executes an illegal instruction (`ud2`) first.
        case sigill
    }

    /// This process's result: nil when the AMX kernels matched the reference, else why not. Run
    /// once, on first use (with `QFORGE_AMX_FAULT` injected).
    public static let failure: String? = run(fault: ProcessInfo.processInfo.environment["QFORGE_AMX_FAULT"].flatMap(Fault.init))

    /// Runs the check (with `fault` injected); nil when it passes.
    public static func run(fault: Fault? = nil) -> String? {
        do {
            let cases: [(MatMul, String)] = [
                (try MatMul(m: nil, k: 83, n: 37, aType: .u8, bType: .s8, aQuant: .perTensor(scale: 1, zeroPoint: 3)), "u8 x s8"),
                (try MatMul(m: nil, k: 83, n: 37, aType: .s8, bType: .u8, bQuant: .perTensor(scale: 1, zeroPoint: 131)),
                 "s8 x u8 with B's zero point"),
            ]
            for (index, (op, name)) in cases.enumerated() {
                if let problem = try check(op, m: 19, seed: UInt64(index + 1), fault: index == 0 ? fault : nil) { return "\(name): \(problem)" }
            }
            return nil
        } catch {
            return "the self-check kernel could not be built or run: \(error)"
        }
    }

    private static func check(_ op: MatMul, m: Int, seed: UInt64, fault: Fault?) throws -> String? {
        let kernel = try KernelCompiler.shared().compileMatMul(op, schedule: try DefaultSchedule.forMatMul(op, isa: .amx))
        // Bytes from a fixed generator, with the extremes of both types at the corners.
        var random = SeededGenerator(seed: seed)
        var a = random.bytes(m * op.k), b = random.bytes(op.k * op.n)
        a[0] = 0xFF; a[a.count - 1] = 0x80; b[0] = 0x80; b[b.count - 1] = 0x7F
        let weights = try b.withUnsafeBytes { try kernel.packWeights($0) }
        var c = [UInt8](repeating: 0, count: m * op.n * 4)
        let returned = try a.withUnsafeBytes { aBytes in
            try c.withUnsafeMutableBytes { cBytes in
                let call = try kernel.prepareCall(a: aBytes, weights: weights, c: cBytes, m: m)
                return kernel.runGuardingIllegalInstruction(call, executeIllegalInstruction: fault == .sigill)
            }
        }
        if !returned { return "the kernel raised SIGILL (illegal instruction)" }
        if fault == .mismatch { c[0] ^= 1 }
        let expected = ReferenceMatMul.run(op, a: a, b: b, m: m)
        if let first = c.indices.first(where: { c[$0] != expected[$0] }) {
            return "output differs from the reference at C[\(first / 4 / op.n)][\(first / 4 % op.n)]"
        }
        return nil
    }
}
