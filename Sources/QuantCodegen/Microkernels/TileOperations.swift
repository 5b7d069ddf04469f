import LLVMKit
import QuantSchedule

/// The AMX operations a tile microkernel is made of, emitted either as the instructions
/// (`AMXTileOperations`) or as AVX-512 code over tiles in memory with AMX's exact semantics
/// (`EmulatedTileOperations`, `QFORGE_AMX_EMULATION=1`): the same plan, loop program and
/// microkernel, so every machine with AVX-512 proves the AMX kernels' logic. Tiles are numbered
/// 0..<8 as the tile registers; shapes come from the loaded configuration (`AMXPalette`).
protocol TileOperations {
    /// Kernel entry: loads `AMXPalette` unless this thread's current configuration already is it
    /// (`sttilecfg`, compare, `ldtilecfg` only when it differs, which also zeroes the tiles).
    func configure()
    func zero(_ tile: Int)
    /// `tileloadd`: the tile's rows from `pointer + r·stride` (its bytes per row each).
    func load(_ tile: Int, from pointer: IRValue, stride: IRValue)
    /// `tdpb[su][su]d c, a, b`: C[m][n] += Σ_k a[m][4k..4k+3] · b[k][4n..4n+3], int32 wrap-around.
    func dot(_ c: Int, _ a: Int, _ b: Int, aSigned: Bool, bSigned: Bool)
    /// `tilestored`: the tile's rows to `pointer + r·stride`.
    func store(_ tile: Int, to pointer: IRValue, stride: IRValue)
}

/// The tile operations for a function with target features `features`: the AMX instructions when
/// they enable amx-tile and amx-int8, else their AVX-512 emulation (the one place this is decided).
func makeTileOperations(features: String, module: Module, b: IRBuilder, loops: LoopBuilder, prefix: String) -> TileOperations {
    CodegenTarget.hasAMXTiles(features)
        ? AMXTileOperations(module: module, b: b, loops: loops, prefix: prefix)
        : EmulatedTileOperations(module: module, b: b, loops: loops, prefix: prefix)
}

extension TileOperations {
    /// The `tdpb*d` mnemonic of a signedness pair (first letter A's, second B's).
    static func dotMnemonic(aSigned: Bool, bSigned: Bool) -> String {
        "tdpb\(aSigned ? "s" : "u")\(bSigned ? "s" : "u")d"
    }
}

/// What both implementations share: the palette constant and the load-unless-loaded rule.
struct TileConfiguration {
    let b: IRBuilder
    let loops: LoopBuilder
    let palette: IRValue

    init(module: Module, b: IRBuilder, loops: LoopBuilder, prefix: String) {
        self.b = b
        self.loops = loops
        let context = module.context
        palette = module.global(named: "\(prefix).palette") ?? module.addConstant(
            "\(prefix).palette", context.constArray(context.i8, AMXPalette.bytes.map { context.constInt(context.i8, Int64($0)) }), alignment: 64)
    }

    /// `storeConfig(current)`, then `loadConfig(palette)` when the two differ.
    func configure(storeConfig: (IRValue) -> Void, loadConfig: @escaping (IRValue) -> Void) {
        let context = b.context, bytePointer = context.pointer(to: context.i8)
        let current = b.bitcast(b.alloca(bytes: 64, align: 64, "tilecfg.current"), to: bytePointer)
        storeConfig(current)
        let words = context.vector(context.i64, 8)
        let palettePointer = b.bitcast(palette, to: bytePointer)
        let same = b.icmp(.eq, b.load(words, from: current, align: 64), b.load(words, from: palettePointer, align: 64))
        let allSame = b.icmp(.eq, b.bitcast(same, to: context.i8), context.constInt(context.i8, -1))
        loops.branch("tilecfg", allSame, then: {}, otherwise: { loadConfig(palettePointer) })
    }
}

/// The AMX instructions (`ldtilecfg`, `sttilecfg`, `tilezero`, `tileloadd`, `tdpb*d`, `tilestored`)
/// through LLVM's intrinsics with immediate tile numbers.
struct AMXTileOperations: TileOperations {
    let b: IRBuilder
    let module: Module
    let configuration: TileConfiguration

    init(module: Module, b: IRBuilder, loops: LoopBuilder, prefix: String) {
        self.b = b
        self.module = module
        configuration = TileConfiguration(module: module, b: b, loops: loops, prefix: prefix)
    }

    private func call(_ name: String, _ args: [IRValue]) {
        let intrinsic = try! module.intrinsic(name)
        _ = b.call(intrinsic.function, type: intrinsic.type, args)
    }

    private func tile(_ index: Int) -> IRValue { b.context.constInt(b.context.i8, Int64(index)) }

    func configure() {
        configuration.configure(storeConfig: { call("llvm.x86.sttilecfg", [$0]) }, loadConfig: { call("llvm.x86.ldtilecfg", [$0]) })
    }

    func zero(_ index: Int) { call("llvm.x86.tilezero", [tile(index)]) }

    func load(_ index: Int, from pointer: IRValue, stride: IRValue) {
        call("llvm.x86.tileloadd64", [tile(index), pointer, stride])
    }

    func dot(_ c: Int, _ a: Int, _ bTile: Int, aSigned: Bool, bSigned: Bool) {
        call("llvm.x86.\(Self.dotMnemonic(aSigned: aSigned, bSigned: bSigned))", [tile(c), tile(a), tile(bTile)])
    }

    func store(_ index: Int, to pointer: IRValue, stride: IRValue) {
        call("llvm.x86.tilestored64", [tile(index), pointer, stride])
    }
}
