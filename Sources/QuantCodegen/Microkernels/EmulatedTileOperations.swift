import LLVMKit
import QuantSchedule

/// The AMX tile operations (`TileOperations`) as AVX-512 code over an emulated tile state on the
/// kernel's stack (8 tiles of 1 KiB, then the 64-byte configuration, zero at entry = no
/// configuration), each operation an internal function of the module that follows Intel's
/// pseudo-code: a load fills the configured rows (bytes past the row's width and rows past the
/// tile's height are zero), `tdpb*d` runs over C's rows (M), A's 4-byte groups (K = A's bytes per
/// row / 4) and C's columns (N = C's bytes per row / 4), each group's four products summed into the
/// int32 lane with wrap-around and lanes and rows past N and M zeroed, a store writes the
/// configured rows.
struct EmulatedTileOperations: TileOperations {
    let b: IRBuilder
    let module: Module
    let configuration: TileConfiguration
    /// The emulated tile state (tiles, then the configuration).
    let state: IRValue

    static let configOffset = AMXPalette.tiles * AMXPalette.tileBytes

    init(module: Module, b: IRBuilder, loops: LoopBuilder, prefix: String) {
        self.b = b
        self.module = module
        configuration = TileConfiguration(module: module, b: b, loops: loops, prefix: prefix)
        let context = module.context
        state = b.bitcast(b.alloca(bytes: Self.configOffset + 64, align: 64, "amx.emulated.state"), to: context.pointer(to: context.i8))
        b.memset(b.byteOffset(state, context.constInt(context.i64, Int64(Self.configOffset))), to: context.null(context.i8),
                 size: context.constInt(context.i64, 64), align: 64)
    }

    private var context: Context { module.context }
    private var bytePointer: IRType { context.pointer(to: context.i8) }
    private func i64(_ value: Int) -> IRValue { context.constInt(context.i64, Int64(value)) }

    /// The module's emulation function `name` (declared and defined on first use).
    private func function(_ name: String, _ parameters: [IRType], _ body: (IRBuilder, LoopBuilder, [IRValue]) -> Void) -> (IRValue, IRType) {
        let type = context.function(context.void, parameters)
        if let existing = module.function(named: name) { return (existing, type) }
        let function = module.addInternalFunction(name, type: type)
        IRFunction.addAttributes(function, ["nounwind"], in: context)
        let builder = IRBuilder(context)
        builder.position(at: builder.appendBlock(function, "entry"))
        body(builder, LoopBuilder(builder: builder, function: function), (0..<parameters.count).map { IRFunction.parameter(function, $0) })
        builder.retVoid()
        return (function, type)
    }

    private func call(_ function: (IRValue, IRType), _ args: [IRValue]) {
        _ = b.call(function.0, type: function.1, args)
    }

    func configure() {
        let ldtilecfg = function("qf.amx.emulated.ldtilecfg", [bytePointer, bytePointer]) { b, _, p in
            let c = b.context
            b.memcpy(to: b.byteOffset(p[0], c.constInt(c.i64, Int64(Self.configOffset))), align: 1, from: p[1], align: 1, size: c.constInt(c.i64, 64))
            b.memset(p[0], to: c.null(c.i8), size: c.constInt(c.i64, Int64(Self.configOffset)), align: 64)
        }
        let sttilecfg = function("qf.amx.emulated.sttilecfg", [bytePointer, bytePointer]) { b, _, p in
            let c = b.context
            b.memcpy(to: p[1], align: 1, from: b.byteOffset(p[0], c.constInt(c.i64, Int64(Self.configOffset))), align: 1, size: c.constInt(c.i64, 64))
        }
        configuration.configure(storeConfig: { call(sttilecfg, [state, $0]) }, loadConfig: { call(ldtilecfg, [state, $0]) })
    }

    func zero(_ tile: Int) {
        b.memset(Self.data(b, state: state, tile: i64(tile)), to: context.null(context.i8), size: i64(AMXPalette.tileBytes), align: 64)
    }

    /// (rows, bytes per row) of `tile` from the emulated configuration, as i64.
    private static func shape(_ b: IRBuilder, state: IRValue, tile: IRValue) -> (rows: IRValue, bytes: IRValue) {
        let c = b.context
        let config = b.byteOffset(state, c.constInt(c.i64, Int64(configOffset)))
        let rows = b.zext(b.load(c.i8, from: b.byteOffset(config, b.add(tile, c.constInt(c.i64, 48))), align: 1), to: c.i64)
        let bytes = b.zext(b.load(c.i16, from: b.byteOffset(config, b.add(b.mul(tile, c.constInt(c.i64, 2)), c.constInt(c.i64, 16))), align: 1),
                           to: c.i64)
        return (rows, bytes)
    }

    /// Where `tile`'s 16 rows of 64 bytes are in the emulated state.
    private static func data(_ b: IRBuilder, state: IRValue, tile: IRValue) -> IRValue {
        b.byteOffset(state, b.mul(tile, b.context.constInt(b.context.i64, Int64(AMXPalette.tileBytes))))
    }

    /// The bytes a row of `shape` moves: its width, at most the 64 a tile row holds.
    private static func rowBytes(_ b: IRBuilder, _ shape: (rows: IRValue, bytes: IRValue)) -> IRValue {
        let c = b.context, limit = c.constInt(c.i64, Int64(AMXPalette.tileRowBytes))
        return b.select(b.icmp(.slt, shape.bytes, limit), shape.bytes, limit)
    }

    /// `<64 x i1>`: byte lane l set when l < count.
    private static func firstBytes(_ b: IRBuilder, _ count: IRValue) -> IRValue {
        let c = b.context
        let lanes = c.constVector((0..<64).map { c.constInt(c.i64, Int64($0)) })
        return b.icmp(.slt, lanes, b.splat(count, count: 64))
    }

    func load(_ tile: Int, from pointer: IRValue, stride: IRValue) {
        let module = self.module
        let tileload = function("qf.amx.emulated.tileloadd", [bytePointer, context.i64, bytePointer, context.i64]) { b, loops, p in
            let c = b.context, bytes64 = c.vector(c.i8, 64)
            let shape = Self.shape(b, state: p[0], tile: p[1])
            let tileData = Self.data(b, state: p[0], tile: p[1]), width = Self.rowBytes(b, shape)
            loops.loop("row", from: c.constInt(c.i64, 0), step: 1, while: { b.icmp(.slt, $0, c.constInt(c.i64, Int64(AMXPalette.tileRows))) }) { r, _ in
                let count = b.select(b.icmp(.slt, r, shape.rows), width, c.constInt(c.i64, 0))
                let row = module.maskedLoad(b, bytes64, from: b.byteOffset(p[2], b.mul(r, p[3])), mask: Self.firstBytes(b, count),
                                            passThrough: c.null(bytes64), align: 1)
                b.store(row, to: b.byteOffset(tileData, b.mul(r, c.constInt(c.i64, 64))), align: 64)
                return []
            }
        }
        call(tileload, [state, i64(tile), pointer, stride])
    }

    func store(_ tile: Int, to pointer: IRValue, stride: IRValue) {
        let module = self.module
        let tilestore = function("qf.amx.emulated.tilestored", [bytePointer, context.i64, bytePointer, context.i64]) { b, loops, p in
            let c = b.context, bytes64 = c.vector(c.i8, 64)
            let shape = Self.shape(b, state: p[0], tile: p[1])
            let tileData = Self.data(b, state: p[0], tile: p[1]), width = Self.rowBytes(b, shape)
            loops.loop("row", from: c.constInt(c.i64, 0), step: 1, while: { b.icmp(.slt, $0, shape.rows) }) { r, _ in
                let row = b.load(bytes64, from: b.byteOffset(tileData, b.mul(r, c.constInt(c.i64, 64))), align: 64)
                module.maskedStore(b, row, to: b.byteOffset(p[2], b.mul(r, p[3])), mask: Self.firstBytes(b, width), align: 1)
                return []
            }
        }
        call(tilestore, [state, i64(tile), pointer, stride])
    }

    func dot(_ c: Int, _ a: Int, _ bTile: Int, aSigned: Bool, bSigned: Bool) {
        let name = "qf.amx.emulated.\(Self.dotMnemonic(aSigned: aSigned, bSigned: bSigned))"
        let dot = function(name, [bytePointer, context.i64, context.i64, context.i64]) { b, loops, p in
            let c = b.context, i32 = c.i32, wide = c.vector(i32, 64), lanes = c.vector(i32, 16)
            func k(_ value: Int) -> IRValue { c.constInt(c.i64, Int64(value)) }
            let cShape = Self.shape(b, state: p[0], tile: p[1]), aShape = Self.shape(b, state: p[0], tile: p[2])
            let (cData, aData, bData) = (Self.data(b, state: p[0], tile: p[1]), Self.data(b, state: p[0], tile: p[2]),
                                         Self.data(b, state: p[0], tile: p[3]))
            let m = cShape.rows, n = b.sdiv(cShape.bytes, k(4)), groups = b.sdiv(aShape.bytes, k(4))
            let columnLanes = c.constVector((0..<16).map { c.constInt(c.i64, Int64($0)) })
            let validColumns = b.icmp(.slt, columnLanes, b.splat(n, count: 16))
            loops.loop("m", from: k(0), step: 1, while: { b.icmp(.slt, $0, k(AMXPalette.tileRows)) }) { row, _ in
                let cRow = b.byteOffset(cData, b.mul(row, k(64)))
                let inside = b.icmp(.slt, row, m)
                let initial = b.load(lanes, from: cRow, align: 64)
                let sum = loops.loop("k", from: k(0), step: 1, carried: [initial],
                                     while: { b.and(inside, b.icmp(.slt, $0, groups)) }) { group, carried in
                    let aGroup = b.load(i32, from: b.byteOffset(aData, b.add(b.mul(row, k(64)), b.mul(group, k(4)))), align: 4)
                    let aBytes = b.bitcast(b.splat(aGroup, count: 16), to: c.vector(c.i8, 64))
                    let bBytes = b.load(c.vector(c.i8, 64), from: b.byteOffset(bData, b.mul(group, k(64))), align: 64)
                    let products = b.mul(aSigned ? b.sext(aBytes, to: wide) : b.zext(aBytes, to: wide),
                                         bSigned ? b.sext(bBytes, to: wide) : b.zext(bBytes, to: wide))
                    var total = carried[0]
                    for t in 0..<4 { total = b.add(total, b.shuffle(products, products, (0..<16).map { 4 * $0 + t })) }
                    return [total]
                }.carried[0]
                let written = b.select(b.and(b.splat(inside, count: 16), validColumns), sum, c.null(lanes))
                b.store(written, to: cRow, align: 64)
                return []
            }
        }
        call(dot, [state, i64(c), i64(a), i64(bTile)])
    }
}
