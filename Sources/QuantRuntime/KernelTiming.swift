import Foundation

/// How kernels are timed, by `qforge bench` and the autotuner alike (as the peers do it): a
/// warm-up, batches long enough for the clock, and the minimum (and median) per-call time over
/// several batches.
public enum KernelTiming {
    public struct Result: Sendable {
        public var minSeconds: Double
        public var medianSeconds: Double
    }

    /// Times `body` in batches of at least `batchSeconds`, at least `batches` of them and for at
    /// least `minSeconds` in all.
    public static func measure(batches: Int = 5, batchSeconds: Double = 1e-3, minSeconds: Double = 0,
                               _ body: () -> Void) -> Result {
        func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
        for _ in 0..<3 { body() }
        var batch = 1
        while true {
            let start = now()
            for _ in 0..<batch { body() }
            if Double(now() - start) >= batchSeconds * 1e9 || batch >= 1 << 20 { break }
            batch *= 2
        }
        var perCall: [Double] = []
        let started = now()
        while perCall.count < batches || Double(now() - started) / 1e9 < minSeconds {
            let start = now()
            for _ in 0..<batch { body() }
            perCall.append(Double(now() - start) / 1e9 / Double(batch))
        }
        perCall.sort()
        return Result(minSeconds: perCall[0], medianSeconds: perCall[perCall.count / 2])
    }
}
