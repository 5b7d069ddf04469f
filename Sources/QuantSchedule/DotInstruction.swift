import QuantOps

/// The integer domain an instruction multiplies an operand in.
public enum OperandDomain: String, Sendable, Hashable {
    /// Bytes are read as unsigned (s8 data is shifted by +128, with a compensation term).
    case unsigned8
    /// Bytes are read as signed (u8 data is shifted by -128, with a compensation term).
    case signed8
    /// Bytes are widened with the tensor's own signedness: no shift needed.
    case native
}

/// One int8 dot-product instruction, described once: what it computes (`reference`), how it is
/// emitted (the LLVM intrinsic), its tile shape and its operand domains. Packing layouts,
/// microkernels and the scheduler all read this table (ARCHITECTURE.md, "Design: one instruction table", Exo's `@instr`).
///
/// Shape: one instruction updates `lanes` int32 accumulators holding an M0 × N0 block of C
/// (`rowsPerInstruction` × `columnsPerVector`), each the dot product of `kGroup` consecutive k
/// (K0) of an A row and a B column. Broadcast forms (`vpdpbusd`, `sdot`) have M0 = 1: one A row
/// broadcast against N0 = lanes columns; matrix forms (`smmla`) have M0 = N0 = 2.
public struct DotInstruction: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Widen both operands to i32 vectors, multiply, add: LLVM vector types only.
        case portableWidening
        /// `vpdpbusd zmm`: 16 lanes × 4 bytes, u8 × s8.
        case avx512Vpdpbusd
        /// `vpdpbusd ymm` (AVX-VNNI): 8 lanes × 4 bytes, u8 × s8.
        case avxVnniVpdpbusd
        /// AVX2 exact: B widened in-kernel (`vpmovsxbw`/`vpmovzxbw`), `vpmaddwd ymm` on pairs of k:
        /// 8 lanes × 2 bytes, both operands in their own signedness (no saturation, no shift).
        case avx2Pmaddwd
        /// NEON `sdot` (Armv8.2 dot product): 4 lanes × 4 bytes, s8 × s8.
        case neonSdot
        /// i8mm `smmla`: a 2×2 block of C from 2 rows × 8 bytes of A and 2 columns × 8 bytes of B.
        case i8mmSmmla
        /// AMX-INT8 `tdpb[su][su]d`: a 16×16 int32 tile of C from a 16-row × 64-byte A tile and a
        /// B tile of 16 K groups × 16 columns × 4 bytes; each signedness pair has its own form.
        case amxTile
    }

    public let kind: Kind
    public let isa: ISA
    /// Assembly form, for humans.
    public let mnemonic: String
    /// The LLVM intrinsic, nil when the instruction is expressed with plain vector IR.
    public let intrinsic: String?
    /// int32 accumulators per vector register (N0).
    public let lanes: Int
    /// Consecutive k values per accumulator per instruction (K0); the packing group of B.
    public let kGroup: Int
    /// Rows of C per accumulator vector (M0).
    public let rowsPerInstruction: Int
    /// K groups one instruction consumes (16 for an AMX tile: 64 bytes of K; 1 for vector forms).
    /// B's packed K is padded with zeros to a whole number of them.
    public let kGroupsPerInstruction: Int
    /// i32 lanes of one output row vector (the epilogue's width): `lanes` for vector forms.
    public let outputLanes: Int
    /// A is widened into a per-row-block buffer once (pack-A), instead of once per panel: for forms
    /// whose A operand costs shuffles to build (AVX2's i16 pairs).
    public let packsA: Bool
    /// K steps the default schedule unrolls its microkernel by.
    public let kUnroll: Int
    public let aDomain: OperandDomain
    public let bDomain: OperandDomain
    /// Vector registers of the target (register-tile budget).
    public let vectorRegisters: Int
    /// LLVM target features the instruction needs; checked before code is emitted.
    public let requiredLLVMFeatures: [String]
    /// Function-level target features that confine the whole kernel to this ISA (so that a forced
    /// AVX2 kernel really is AVX2 code and runs on an AVX2-only CPU), per target architecture.
    public let confiningFeatures: [String: String]

    public init(kind: Kind, isa: ISA, mnemonic: String, intrinsic: String?, lanes: Int, kGroup: Int,
                rowsPerInstruction: Int = 1, kGroupsPerInstruction: Int = 1, outputLanes: Int? = nil, packsA: Bool = false,
                kUnroll: Int = 4, aDomain: OperandDomain, bDomain: OperandDomain,
                vectorRegisters: Int, requiredLLVMFeatures: [String], confiningFeatures: [String: String]) {
        self.kind = kind
        self.isa = isa
        self.mnemonic = mnemonic
        self.intrinsic = intrinsic
        self.lanes = lanes
        self.kGroup = kGroup
        self.rowsPerInstruction = rowsPerInstruction
        self.kGroupsPerInstruction = kGroupsPerInstruction
        self.outputLanes = outputLanes ?? lanes
        self.packsA = packsA
        self.kUnroll = kUnroll
        self.aDomain = aDomain
        self.bDomain = bDomain
        self.vectorRegisters = vectorRegisters
        self.requiredLLVMFeatures = requiredLLVMFeatures
        self.confiningFeatures = confiningFeatures
    }

    /// The largest packed-A buffer (on the kernel's stack) a schedule may ask for.
    public static let packedABytesLimit = 64 << 10

    /// Bytes one row of A takes once packed: one i32 operand per K group.
    public func packedARowBytes(k: Int) -> Int { (k + kGroup - 1) / kGroup * 4 }

    /// True when a row block of `rowBlock` rows packs within the limit (otherwise A is read as is).
    public func packsA(rowBlock: Int, k: Int) -> Bool {
        packsA && rowBlock * packedARowBytes(k: k) <= Self.packedABytesLimit
    }

    /// Columns of C per accumulator vector (N0).
    public var columnsPerVector: Int { lanes / rowsPerInstruction }

    /// Accumulator vectors that together hold one row's output vector (2 for `smmla`: two 2×2
    /// blocks give 4 columns of a row). A schedule's vectors per row must be a multiple of it.
    public var vectorsPerOutput: Int { outputLanes / columnsPerVector }

    /// Bytes of K one instruction consumes (K0): B's packed K is padded to a multiple of it.
    public var kStep: Int { kGroup * kGroupsPerInstruction }

    /// True for tile instructions (AMX): accumulators, A and B live in tile registers
    /// (`vectorRegisters` counts tiles) and a K step spans `kGroupsPerInstruction` groups.
    public var usesTiles: Bool { kind == .amxTile }

    public var description: String {
        "\(mnemonic) (\(rowsPerInstruction)×\(columnsPerVector)×\(kStep), A \(aDomain.rawValue), B \(bDomain.rawValue))"
    }

    /// The instruction's semantics on one accumulator: `acc[r·N0 + c] += Σ_t a[r·K0 + t] · b[(t / kGroup)·N0·kGroup + c·kGroup + t % kGroup]`,
    /// where `a` holds the K0 = `kStep` bytes of each of the M0 rows (one broadcast row when M0 = 1)
    /// and `b` the K0 bytes of each of the N0 columns in B's packed order (K group by K group, each
    /// group's columns one after another), each read in its operand domain (for `.native`, as
    /// `aType` / `bType`). Sums wrap around in int32.
    public func reference(acc: [Int32], a: [UInt8], b: [UInt8], aSigned: Bool, bSigned: Bool) -> [Int32] {
        precondition(acc.count == lanes && a.count == rowsPerInstruction * kStep && b.count == columnsPerVector * kStep)
        func value(_ byte: UInt8, _ domain: OperandDomain, _ nativeSigned: Bool) -> Int32 {
            switch domain {
            case .unsigned8: Int32(byte)
            case .signed8: Int32(Int8(bitPattern: byte))
            case .native: nativeSigned ? Int32(Int8(bitPattern: byte)) : Int32(byte)
            }
        }
        return (0..<lanes).map { lane in
            let row = lane / columnsPerVector, column = lane % columnsPerVector
            var sum = acc[lane]
            for t in 0..<kStep {
                let bIndex = t / kGroup * columnsPerVector * kGroup + column * kGroup + t % kGroup
                sum = sum &+ value(a[row * kStep + t], aDomain, aSigned) &* value(b[bIndex], bDomain, bSigned)
            }
            return sum
        }
    }
}

/// The table of every int8 dot-product form QuantForge knows.
public enum InstructionTable {
    public static let portableWidening = DotInstruction(
        kind: .portableWidening, isa: .portable, mnemonic: "widen + mul + add (LLVM vectors)", intrinsic: nil,
        lanes: 16, kGroup: 1, aDomain: .native, bDomain: .native, vectorRegisters: 16, requiredLLVMFeatures: [],
        confiningFeatures: ["x86_64": "-sse3", "aarch64": "-dotprod,-i8mm"])

    public static let avx512Vpdpbusd = DotInstruction(
        kind: .avx512Vpdpbusd, isa: .avx512vnni, mnemonic: "vpdpbusd zmm", intrinsic: "llvm.x86.avx512.vpdpbusd.512",
        lanes: 16, kGroup: 4, aDomain: .unsigned8, bDomain: .signed8, vectorRegisters: 32,
        requiredLLVMFeatures: ["+avx512f", "+avx512bw", "+avx512dq", "+avx512vnni"], confiningFeatures: ["x86_64": "-avxvnni"])

    public static let avxVnniVpdpbusd = DotInstruction(
        kind: .avxVnniVpdpbusd, isa: .avxvnni, mnemonic: "vpdpbusd ymm", intrinsic: "llvm.x86.avx512.vpdpbusd.256",
        lanes: 8, kGroup: 4, aDomain: .unsigned8, bDomain: .signed8, vectorRegisters: 16,
        requiredLLVMFeatures: ["+avxvnni"], confiningFeatures: ["x86_64": "-avx512f"])

    /// K unrolled by 2, not 4: each `vpmaddwd` needs a register for its products before `vpaddd`,
    /// and with 4 K steps in flight LLVM's schedule spilled accumulators of the 6×2 tile (Zen 3,
    /// 128×768×768 requantized: 72.1–72.3 GMAC/s with 4, 77.8–78.0 with 2, 78.0–78.1 with 1).
    public static let avx2Pmaddwd = DotInstruction(
        kind: .avx2Pmaddwd, isa: .avx2, mnemonic: "vpmovsxbw/vpmovzxbw + vpmaddwd ymm", intrinsic: "llvm.x86.avx2.pmadd.wd",
        lanes: 8, kGroup: 2, packsA: true, kUnroll: 2, aDomain: .native, bDomain: .native, vectorRegisters: 16,
        requiredLLVMFeatures: ["+avx2"], confiningFeatures: ["x86_64": "-avx512f,-avxvnni"])

    public static let neonSdot = DotInstruction(
        kind: .neonSdot, isa: .neondot, mnemonic: "sdot v.4s (NEON dot product)", intrinsic: "llvm.aarch64.neon.sdot",
        lanes: 4, kGroup: 4, aDomain: .signed8, bDomain: .signed8, vectorRegisters: 32,
        requiredLLVMFeatures: ["+neon", "+dotprod"], confiningFeatures: ["aarch64": "-i8mm"])

    public static let i8mmSmmla = DotInstruction(
        kind: .i8mmSmmla, isa: .i8mm, mnemonic: "smmla v.4s (i8mm)", intrinsic: "llvm.aarch64.neon.smmla",
        lanes: 4, kGroup: 8, rowsPerInstruction: 2, aDomain: .signed8, bDomain: .signed8, vectorRegisters: 32,
        requiredLLVMFeatures: ["+neon", "+i8mm"], confiningFeatures: [:])

    /// AMX-INT8: one entry for the four `tdpb*d` forms (the kernel picks the one of A's and B's
    /// signedness, so neither operand is shifted); `vectorRegisters` counts the 8 tile registers.
    /// Without AMX, `QFORGE_AMX_EMULATION=1` emits the same tile operations as AVX-512 code over
    /// memory tiles (`Microkernels/EmulatedTileOperations.swift`), which needs only the AVX-512 features.
    public static let amxTile = DotInstruction(
        kind: .amxTile, isa: .amx, mnemonic: "tdpbusd/tdpbssd/tdpbsud/tdpbuud tmm", intrinsic: nil,
        lanes: 256, kGroup: 4, rowsPerInstruction: AMXPalette.tileRows, kGroupsPerInstruction: AMXPalette.tileRowBytes / 4,
        outputLanes: 16, aDomain: .native, bDomain: .native, vectorRegisters: AMXPalette.tiles,
        requiredLLVMFeatures: ["+amx-tile", "+amx-int8", "+avx512f", "+avx512bw", "+avx512dq"], confiningFeatures: [:])

    /// What an emulated AMX kernel needs of the target (the tile operations as AVX-512 code). Real
    /// and emulated, the epilogue runs on AVX-512 as `avx512Vpdpbusd`'s does (`vrangeps`: DQ).
    public static let amxEmulationLLVMFeatures = ["+avx512f", "+avx512bw", "+avx512dq"]

    public static let all: [DotInstruction] = [portableWidening, avx2Pmaddwd, avxVnniVpdpbusd, avx512Vpdpbusd, neonSdot,
                                               i8mmSmmla, amxTile]

    /// The instruction a kernel for `isa` is built around.
    public static func instruction(for isa: ISA) throws(QuantError) -> DotInstruction {
        guard let entry = all.first(where: { $0.isa == isa }) else {
            throw .unsupportedISA(requested: isa.rawValue, reason: "no microkernel for \(isa.rawValue) is implemented yet")
        }
        return entry
    }

    /// The vector instruction of `isa`: what kernels other than tiled matmuls (elementwise,
    /// depthwise, attention, 4-bit linears, f32 linears) are built around. An AMX CPU runs them on
    /// AVX-512 (every AMX CPU has AVX-512 VNNI).
    public static func vectorInstruction(for isa: ISA) throws(QuantError) -> DotInstruction {
        isa == .amx ? avx512Vpdpbusd : try instruction(for: isa)
    }

    /// The dot product of kernels that broadcast one row of A per step (4-bit linears, attention's
    /// per-head products): the vector instruction, except on i8mm CPUs, whose `smmla` works on 2×8
    /// blocks — there the dot-product extension's `sdot` (every i8mm CPU has it).
    public static func broadcastInstruction(for isa: ISA) throws(QuantError) -> DotInstruction {
        isa == .i8mm ? neonSdot : try vectorInstruction(for: isa)
    }
}
