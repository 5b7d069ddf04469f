import Foundation

/// Data cache sizes of one core, in bytes (from sysfs; conservative defaults when unreadable).
public struct CacheSizes: Sendable, Hashable, CustomStringConvertible {
    public var l1d: Int
    public var l2: Int
    public var l3: Int

    public init(l1d: Int, l2: Int, l3: Int) {
        self.l1d = l1d
        self.l2 = l2
        self.l3 = l3
    }

    /// Reads /sys/devices/system/cpu/cpu0/cache/index*/{level,type,size}.
    public static func detect(root: String = "/sys/devices/system/cpu/cpu0/cache") -> CacheSizes {
        var sizes = CacheSizes(l1d: 32 << 10, l2: 1 << 20, l3: 8 << 20)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for entry in entries where entry.hasPrefix("index") {
            func read(_ name: String) -> String? {
                (try? String(contentsOfFile: "\(root)/\(entry)/\(name)", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let level = read("level").flatMap(Int.init), let type = read("type"),
                  let size = read("size").flatMap(parseSize) else { continue }
            switch (level, type) {
            case (1, "Data"): sizes.l1d = size
            case (2, _): sizes.l2 = size
            case (3, _): sizes.l3 = size
            default: break
            }
        }
        return sizes
    }

    /// "48K" → 49152, "2048K" → 2 MiB, "32M" → 32 MiB.
    public static func parseSize(_ text: String) -> Int? {
        let multiplier: Int
        var digits = Substring(text)
        switch text.last {
        case "K": multiplier = 1 << 10; digits = digits.dropLast()
        case "M": multiplier = 1 << 20; digits = digits.dropLast()
        case "G": multiplier = 1 << 30; digits = digits.dropLast()
        default: multiplier = 1
        }
        return Int(digits).map { $0 * multiplier }
    }

    public var description: String {
        "L1d \(l1d >> 10) KiB, L2 \(l2 >> 10) KiB, L3 \(l3 >> 20) MiB"
    }
}
