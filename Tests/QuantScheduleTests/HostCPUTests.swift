import Foundation
import QuantOps
import QuantSchedule
import Testing

/// Detection agrees with what Linux reports in /proc/cpuinfo.
struct HostCPUTests {
    @Test func matchesProcCpuinfo() throws {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let flags = Set(flagsLine.split(separator: ":")[1].split(separator: " ").map(String.init))
        let host = HostCPU.current
        #expect(host.features.contains(.avx2) == flags.contains("avx2"))
        #expect(host.features.contains(.avx512vnni) == flags.contains("avx512_vnni"))
        #expect(host.features.contains(.avxvnni) == flags.contains("avx_vnni"))
        #expect(host.features.contains(.amxInt8) == flags.contains("amx_int8"))
        #expect(host.supports(.avx512vnni) == (flags.contains("avx512_vnni") && flags.contains("avx512bw") && flags.contains("avx512dq")))
        #expect(host.features.contains(.avx512dq) == flags.contains("avx512dq"))
        #expect(host.supports(.portable))
        #expect(host.caches.l1d >= 16 << 10 && host.caches.l2 >= 256 << 10)
    }

    @Test func cacheSizeParsing() {
        #expect(CacheSizes.parseSize("48K") == 48 << 10)
        #expect(CacheSizes.parseSize("2048K") == 2 << 20)
        #expect(CacheSizes.parseSize("32M") == 32 << 20)
        #expect(CacheSizes.parseSize("junk") == nil)
    }
}
