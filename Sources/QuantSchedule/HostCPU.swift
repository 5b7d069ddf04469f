import CQuantSupport
import Foundation
import QuantOps

/// What the CPU this process runs on offers, as read from CPUID, XCR0, the AMX permission
/// request, the AArch64 hwcaps and sysfs.
public struct HostCPU: Sendable, CustomStringConvertible {
    public enum Architecture: String, Sendable { case x86_64, aarch64, other }

    /// Individual CPU features as the hardware reports them (before OS support is considered).
    public struct Features: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let avx2 = Features(rawValue: 1 << 0)
        public static let fma = Features(rawValue: 1 << 1)
        public static let avxvnni = Features(rawValue: 1 << 2)
        public static let avx512f = Features(rawValue: 1 << 3)
        public static let avx512bw = Features(rawValue: 1 << 4)
        public static let avx512vl = Features(rawValue: 1 << 5)
        public static let avx512vnni = Features(rawValue: 1 << 6)
        public static let amxTile = Features(rawValue: 1 << 7)
        public static let amxInt8 = Features(rawValue: 1 << 8)
        public static let amxBF16 = Features(rawValue: 1 << 9)
        public static let neon = Features(rawValue: 1 << 10)
        public static let dotprod = Features(rawValue: 1 << 11)
        public static let i8mm = Features(rawValue: 1 << 12)
        public static let avx512dq = Features(rawValue: 1 << 13)

        public static let names: [(Features, String)] = [
            (.avx2, "avx2"), (.fma, "fma"), (.avxvnni, "avx-vnni"), (.avx512f, "avx512f"), (.avx512bw, "avx512bw"), (.avx512dq, "avx512dq"),
            (.avx512vl, "avx512vl"), (.avx512vnni, "avx512-vnni"), (.amxTile, "amx-tile"), (.amxInt8, "amx-int8"),
            (.amxBF16, "amx-bf16"), (.neon, "neon"), (.dotprod, "dotprod"), (.i8mm, "i8mm"),
        ]
        public var names: [String] { Self.names.filter { contains($0.0) }.map(\.1) }
    }

    /// The AMX tile-data permission (Linux asks each process to request it).
    public enum AMXPermission: Sendable, Equatable {
        case notApplicable
        case granted
        case denied(reason: String)
    }

    public let architecture: Architecture
    public let vendor: String
    public let brand: String
    /// CPUID family and model (x86), 0 elsewhere.
    public let family: Int
    public let model: Int
    /// What the CPU reports.
    public let features: Features
    /// XCR0: which register states the OS saves (bit 2 YMM, 5–7 ZMM, 17–18 AMX tiles).
    public let xcr0: UInt64
    public let amxPermission: AMXPermission
    /// `QFORGE_AMX_EMULATION=1` on an x86-64 CPU without AMX: the `amx` ISA is available, its tile
    /// operations emitted as AVX-512 code (so every machine with AVX-512 runs the AMX kernels' logic).
    public let amxEmulation: Bool
    public let caches: CacheSizes

    /// The machine this process runs on, detected once.
    public static let current: HostCPU = detect()

    /// Why `isa` cannot run here, or nil when it can.
    public func unavailabilityReason(_ isa: ISA) -> String? {
        let ymmOS = xcr0 & 0b110 == 0b110
        let zmmOS = xcr0 & 0xE6 == 0xE6
        let tileOS = xcr0 & (3 << 17) == 3 << 17
        func need(_ feature: Features, _ name: String) -> String? {
            features.contains(feature) ? nil : "the CPU lacks \(name)"
        }
        switch isa {
        case .portable:
            return nil
        case .avx2:
            guard architecture == .x86_64 else { return "not an x86-64 CPU" }
            return need(.avx2, "AVX2") ?? (ymmOS ? nil : "the OS does not enable YMM state (XCR0)")
        case .avxvnni:
            guard architecture == .x86_64 else { return "not an x86-64 CPU" }
            return need(.avxvnni, "AVX-VNNI") ?? (ymmOS ? nil : "the OS does not enable YMM state (XCR0)")
        case .avx512vnni:
            guard architecture == .x86_64 else { return "not an x86-64 CPU" }
            return need(.avx512f, "AVX-512F") ?? need(.avx512bw, "AVX-512BW") ?? need(.avx512dq, "AVX-512DQ")
                ?? need(.avx512vnni, "AVX-512 VNNI")
                ?? (zmmOS ? nil : "the OS does not enable ZMM state (XCR0)")
        case .amx:
            guard architecture == .x86_64 else { return "not an x86-64 CPU" }
            // Real or emulated, an AMX engine's epilogues and its other operators run on AVX-512
            // VNNI (the ISA's vector instruction), so that must be usable too.
            let vector = unavailabilityReason(.avx512vnni).map { "\($0) (AMX\(amxEmulation ? " emulation" : "") also needs AVX-512 VNNI)" }
            if amxEmulation {
                if let vector { return vector }
                if case let .denied(reason) = amxPermission { return "AMX permission denied: \(reason)" }
                return nil
            }
            if let missing = need(.amxTile, "AMX-TILE") ?? need(.amxInt8, "AMX-INT8") { return missing }
            if !tileOS { return "the OS does not enable AMX tile state (XCR0 bits 17-18)" }
            if let vector { return vector }
            if case let .denied(reason) = amxPermission { return "AMX permission denied: \(reason)" }
            return nil
        case .neondot:
            guard architecture == .aarch64 else { return "not an AArch64 CPU" }
            return need(.dotprod, "the dot-product extension")
        case .i8mm:
            guard architecture == .aarch64 else { return "not an AArch64 CPU" }
            return need(.i8mm, "the i8mm extension")
        }
    }

    /// True when kernels for `isa` can run on this CPU.
    public func supports(_ isa: ISA) -> Bool { unavailabilityReason(isa) == nil }

    /// The ISAs that run here, best first.
    public var availableISAs: [ISA] {
        ISA.preferenceOrder.filter(supports)
    }

    /// Throws `QuantError.unsupportedISA` unless `isa` runs here.
    public func require(_ isa: ISA) throws(QuantError) {
        if let reason = unavailabilityReason(isa) { throw .unsupportedISA(requested: isa.rawValue, reason: reason) }
    }

    public var description: String {
        var lines = [
            "cpu: \(brand.isEmpty ? vendor : brand) (\(architecture.rawValue), vendor \(vendor), family \(family), model \(model))",
            "features: \(features.names.joined(separator: " "))",
        ]
        if architecture == .x86_64 { lines.append(String(format: "xcr0: 0x%llx", xcr0)) }
        switch amxPermission {
        case .notApplicable: break
        case .granted: lines.append("amx permission: granted")
        case let .denied(reason): lines.append("amx permission: denied (\(reason))")
        }
        if amxEmulation { lines.append("amx: emulated with AVX-512 (QFORGE_AMX_EMULATION=1)") }
        lines.append("caches: \(caches)")
        return lines.joined(separator: "\n")
    }

    // MARK: Detection

    static func detect() -> HostCPU {
        switch qf_host_arch() {
        case 1: return detectX86()
        case 2: return detectAArch64()
        default:
            return HostCPU(architecture: .other, vendor: "unknown", brand: "", family: 0, model: 0, features: [],
                           xcr0: 0, amxPermission: .notApplicable, amxEmulation: false, caches: .detect())
        }
    }

    static func cpuid(_ leaf: UInt32, _ subleaf: UInt32 = 0) -> (eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        var regs: [UInt32] = [0, 0, 0, 0]
        _ = qf_cpuid(leaf, subleaf, &regs)
        return (regs[0], regs[1], regs[2], regs[3])
    }

    static func detectX86() -> HostCPU {
        let leaf0 = cpuid(0)
        let vendor = [leaf0.ebx, leaf0.edx, leaf0.ecx].map(asciiString).joined()
        let leaf1 = cpuid(1)
        let baseFamily = Int((leaf1.eax >> 8) & 0xF), extFamily = Int((leaf1.eax >> 20) & 0xFF)
        let baseModel = Int((leaf1.eax >> 4) & 0xF), extModel = Int((leaf1.eax >> 16) & 0xF)
        let family = baseFamily == 0xF ? baseFamily + extFamily : baseFamily
        let model = (baseFamily == 0x6 || baseFamily == 0xF) ? (extModel << 4) + baseModel : baseModel
        var brand = ""
        if cpuid(0x8000_0000).eax >= 0x8000_0004 {
            brand = (0x8000_0002...0x8000_0004).map { leaf -> String in
                let r = cpuid(UInt32(leaf))
                return [r.eax, r.ebx, r.ecx, r.edx].map(asciiString).joined()
            }.joined().trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\0")))
        }
        let leaf7 = cpuid(7, 0), leaf7s1 = cpuid(7, 1)
        func bit(_ register: UInt32, _ index: Int) -> Bool { register & (1 << UInt32(index)) != 0 }
        var features: Features = []
        if bit(leaf7.ebx, 5) { features.insert(.avx2) }
        if bit(leaf1.ecx, 12) { features.insert(.fma) }
        if bit(leaf7s1.eax, 4) { features.insert(.avxvnni) }
        if bit(leaf7.ebx, 16) { features.insert(.avx512f) }
        if bit(leaf7.ebx, 17) { features.insert(.avx512dq) }
        if bit(leaf7.ebx, 30) { features.insert(.avx512bw) }
        if bit(leaf7.ebx, 31) { features.insert(.avx512vl) }
        if bit(leaf7.ecx, 11) { features.insert(.avx512vnni) }
        if bit(leaf7.edx, 24) { features.insert(.amxTile) }
        if bit(leaf7.edx, 25) { features.insert(.amxInt8) }
        if bit(leaf7.edx, 22) { features.insert(.amxBF16) }
        let xcr0 = qf_xgetbv(0)
        var permission = AMXPermission.notApplicable
        let emulation = !(features.contains(.amxTile) && features.contains(.amxInt8)) && amxEmulationRequested
        if features.contains(.amxTile) {
            permission = requestAMXPermission()
        } else if emulation {
            permission = deniedByEnvironment ?? .granted
        }
        return HostCPU(architecture: .x86_64, vendor: vendor, brand: brand, family: family, model: model,
                       features: features, xcr0: xcr0, amxPermission: permission, amxEmulation: emulation, caches: .detect())
    }

    /// Asks Linux for AMX tile data. `QFORGE_DENY_AMX=1` simulates a refusal (fault injection).
    static func requestAMXPermission() -> AMXPermission {
        if let denied = deniedByEnvironment { return denied }
        let rc = qf_request_amx_permission()
        if rc == 0 { return .granted }
        return .denied(reason: rc > 0 ? "arch_prctl(ARCH_REQ_XCOMP_PERM) failed: \(String(cString: strerror(rc)))" : "no arch_prctl on this platform")
    }

    /// `QFORGE_DENY_AMX=1`: the permission request fails (fault injection), emulated or not.
    static var deniedByEnvironment: AMXPermission? {
        ProcessInfo.processInfo.environment["QFORGE_DENY_AMX"] == "1" ? .denied(reason: "QFORGE_DENY_AMX=1 (simulated refusal)") : nil
    }

    /// `QFORGE_AMX_EMULATION=1`.
    static var amxEmulationRequested: Bool { ProcessInfo.processInfo.environment["QFORGE_AMX_EMULATION"] == "1" }

    static func detectAArch64() -> HostCPU {
        let hwcap = qf_hwcap(), hwcap2 = qf_hwcap2()
        var features: Features = [.neon]
        if hwcap & (1 << 20) != 0 { features.insert(.dotprod) }  // HWCAP_ASIMDDP
        if hwcap2 & (1 << 13) != 0 { features.insert(.i8mm) }    // HWCAP2_I8MM
        return HostCPU(architecture: .aarch64, vendor: "arm", brand: "", family: 0, model: 0, features: features,
                       xcr0: 0, amxPermission: .notApplicable, amxEmulation: false, caches: .detect())
    }

    private static func asciiString(_ value: UInt32) -> String {
        String(decoding: withUnsafeBytes(of: value.littleEndian) { Array($0) }.filter { $0 != 0 }, as: UTF8.self)
    }
}

extension HostCPU {
    /// A described machine rather than the detected one: tests and fault injection simulate CPUs
    /// (an AMX CPU whose permission request fails, a CPU without AVX-512, ...) with it.
    public init(describing architecture: Architecture, vendor: String = "simulated", brand: String = "simulated CPU", features: Features,
                xcr0: UInt64, amxPermission: AMXPermission, amxEmulation: Bool = false, caches: CacheSizes = HostCPU.current.caches) {
        self.init(architecture: architecture, vendor: vendor, brand: brand, family: 0, model: 0, features: features, xcr0: xcr0,
                  amxPermission: amxPermission, amxEmulation: amxEmulation, caches: caches)
    }
}
