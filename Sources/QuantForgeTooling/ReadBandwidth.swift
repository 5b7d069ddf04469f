import CQuantSupport
import Foundation
import QuantRuntime

/// The read bandwidth one thread gets now from a buffer of a given size, measured as the peers'
/// `bandwidth` probe does: one pass of 64-byte loads summed into 8 accumulators over a buffer on
/// huge pages (`qf_read_pass`, `qf_allocate_large`), read before it is timed (so it sits in the
/// cache level its size allows), the fastest pass counted.
public enum ReadBandwidth {
    /// GB/s for a `bytes`-byte buffer (rounded up to 512 bytes), timed for at least `seconds`.
    public static func measure(bytes: Int, seconds: Double = 0.2) -> Double {
        let size = max(512, (bytes + 511) / 512 * 512)
        guard let buffer = qf_allocate_large(size) else { return .nan }
        defer { qf_free_large(buffer) }
        memset(buffer, 1, size)
        var sink: UInt64 = 0
        let timing = KernelTiming.measure(minSeconds: seconds) { sink &+= qf_read_pass(buffer, size) }
        if sink == 0x5EED { print("", terminator: "") }  // keeps the sums alive
        return Double(size) / timing.minSeconds / 1e9
    }
}
