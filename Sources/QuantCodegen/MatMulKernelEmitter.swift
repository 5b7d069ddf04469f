import LLVMKit
import QuantOps
import QuantSchedule

/// Emits one matmul kernel `void name(const qf_matmul_args *)` as LLVM IR from its lowered,
/// verified loop program (`MatMulLowering.lower`): the buffers it declares become stack
/// allocations, loops become SSA loops, pack-A nodes become the gather / quantize / widen loops,
/// and each microkernel call becomes the instruction's register-tiled K loop:
/// ```
/// microkernel<R rows × NV vectors>: acc[R][NV] (+ R row sums) over K groups, unrolled by kUnroll;
///   a partial last K group reads only the bytes that exist; then the fused epilogue:
///   + compensation, - b_zp'·rowsum(A'), the output mode (int32 / requantize / dequantize), and
///   stores (the last, partial panel is stored to a stack tile whose valid columns go to C).
/// ```
public struct MatMulKernelEmitter {
    /// The lowered kernel: its loop program and the data formats it reads. The emitter reads
    /// nothing else (there is no schedule here: its decisions are in the program).
    public let kernel: LoweredMatMul

    public init(_ kernel: LoweredMatMul) {
        self.kernel = kernel
    }

    /// Adds the kernel function `name` to `module`, whose target machine has the feature string
    /// `targetFeatures`: the instruction's confining features (e.g. `-avx512f` for AVX2) are
    /// appended to it on the function, so a forced ISA yields code for that ISA only.
    /// A tile instruction's operations are the AMX instructions when `targetFeatures` enables
    /// amx-tile and amx-int8, else their AVX-512 emulation (`EmulatedTileOperations`).
    public func emit(into module: Module, name: String, targetFeatures: String) throws -> IRValue {
        var state = try EmissionState(kernel: kernel, module: module, name: name, targetFeatures: targetFeatures)
        kernel.instruction.confine(state.function, in: module, targetFeatures: targetFeatures)
        state.emitBody(kernel.program)
        return state.function
    }
}

/// The values and helpers live while one kernel function is emitted.
private struct EmissionState {
    let e: LoweredMatMul
    let context: Context
    let module: Module
    let b: IRBuilder
    let dot: DotEmitter
    let function: IRValue
    let loops: LoopBuilder
    let i64: IRType

    // Kernel arguments (qf_matmul_args).
    var aBase: IRValue! = nil
    var lda: IRValue! = nil
    var bBase: IRValue! = nil
    var cBase: IRValue! = nil
    var ldc: IRValue! = nil
    var rowBegin: IRValue! = nil
    var rowEnd: IRValue! = nil
    var panelBegin: IRValue! = nil
    var panelEnd: IRValue! = nil
    /// MR × NR output tile on the stack: the last, partial panel is stored here and its valid
    /// columns copied to C, so that no store ever passes column N.
    var scratchTile: IRValue? = nil
    /// The int32 rows of a tile between its dot products and its epilogue (not for int32 output).
    var accumulatorTile: IRValue? = nil
    /// The row block's packed A (pack-A instructions only): `rowBlock` rows of one i32 per K group.
    var packedA: IRValue? = nil
    /// The row block's gathered convolution windows (convolutions only): `rowBlock` rows of K bytes.
    var gatheredA: IRValue? = nil
    /// Tile instructions: the tile microkernel (its operations real or emulated, its buffers).
    var tileKernel: TileMicrokernelEmitter? = nil
    /// The target's features (they decide whether tile operations are real or emulated).
    let targetFeatures: String
    let name: String

    // Per-column epilogue constants: a splat when uniform, else a private global array.
    var bZeroPoints: ColumnConstant? = nil
    /// The output mode on accumulator vectors (its constants live in the module).
    var outputMode: OutputEpilogue! = nil
    // Run-time inputs read only by the kernels that need them (residual, A's parameters).
    var residualBase: IRValue? = nil
    var ldResidual: IRValue? = nil
    var aScales: IRValue? = nil
    var aZeroPoints: IRValue? = nil
    /// MR × NR residual bytes on the stack: the last, partial panel's valid residual columns are
    /// copied here first, so that no load passes column N.
    var residualScratch: IRValue? = nil

    init(kernel: LoweredMatMul, module: Module, name: String, targetFeatures: String) throws {
        e = kernel
        self.targetFeatures = targetFeatures
        self.name = name
        self.module = module
        context = module.context
        b = IRBuilder(context)
        i64 = context.i64
        dot = try DotEmitters.make(kernel.instruction, module: module, bSigned: kernel.adjustment.bSigned)
        let functionType = context.function(context.void, [context.pointer(to: context.i8)])
        function = module.addFunction(name, type: functionType)
        IRFunction.addAttributes(function, ["nounwind", "nofree"], in: context)
        loops = LoopBuilder(builder: b, function: function)
    }

    private func const(_ value: Int) -> IRValue { context.constInt(i64, Int64(value)) }

    /// A 64-byte aligned stack buffer the program declared.
    private func allocate(_ buffer: KernelBuffer, _ name: String) -> IRValue {
        b.bitcast(b.alloca(bytes: buffer.bytes, align: 64, name), to: context.pointer(to: context.i8))
    }

    mutating func emitBody(_ program: LoopProgram) {
        let entry = b.appendBlock(function, "entry")
        b.position(at: entry)
        let args = IRFunction.parameter(function, 0)
        let bytePointer = context.pointer(to: context.i8)
        func field(_ argument: MatMulArgument) -> IRValue {
            b.load(i64, from: b.byteOffset(args, const(argument.offset)), align: 8)
        }
        aBase = b.intToPtr(field(.a), to: bytePointer)
        lda = field(.lda)
        bBase = b.intToPtr(field(.packedB), to: bytePointer)
        cBase = b.intToPtr(field(.c), to: bytePointer)
        ldc = field(.ldc)
        rowBegin = field(.rowBegin)
        rowEnd = field(.rowEnd)
        panelBegin = field(.panelBegin)
        panelEnd = field(.panelEnd)
        if case let .chain(chain) = e.op.output, chain.residual != nil {
            residualBase = b.intToPtr(field(.residual), to: bytePointer)
            ldResidual = field(.ldResidual)
            if let buffer = program.buffer(.residualTile) { residualScratch = allocate(buffer, "residual.tile") }
        }
        if e.op.aQuantMode.isRunTime {
            aScales = b.intToPtr(field(.aScales), to: bytePointer)
            aZeroPoints = b.intToPtr(field(.aZeroPoints), to: bytePointer)
        }
        makeEpilogueConstants()
        accumulatorTile = program.buffer(.accumulatorTile).map { allocate($0, "acc.tile") }
        scratchTile = program.buffer(.outputTile).map { allocate($0, "scratch.tile") }
        gatheredA = program.buffer(.producedA).map { allocate($0, "gathered.a") }
        packedA = program.buffer(.packedA).map { allocate($0, "packed.a") }
        if e.instruction.usesTiles { makeTileKernel(program) }

        var environment: [LoopSymbol: IRValue] = [
            .rowBegin: rowBegin, .rowEnd: rowEnd, .panelBegin: panelBegin, .panelEnd: panelEnd,
        ]
        emit(program.body, &environment)
        b.retVoid()
    }

    /// The tile microkernel's operations (configured here, at the kernel's entry) and buffers.
    private mutating func makeTileKernel(_ program: LoopProgram) {
        let tiles = makeTileOperations(features: targetFeatures, module: module, b: b, loops: loops, prefix: name)
        tiles.configure()
        let ones = e.adjustment.needsRowSums ? module.addConstant(
            "\(name).ones", context.constArray(context.i8, Array(repeating: context.constInt(context.i8, 1), count: AMXPalette.tileBytes)),
            alignment: 64) : nil
        tileKernel = TileMicrokernelEmitter(
            tiles: tiles, b: b, loops: loops, module: module, instruction: e.instruction, layout: e.layout, k: e.op.k,
            aSigned: e.adjustment.aSigned, bSigned: e.adjustment.bSigned, rowSums: e.adjustment.needsRowSums,
            staging: allocate(program.buffer(.tileStaging)!, "tile.staging"), rowSumTiles: allocate(program.buffer(.rowSumTiles)!, "row.sum.tiles"),
            accumulatorTile: accumulatorTile!, ones: ones.map { b.bitcast($0, to: context.pointer(to: context.i8)) })
    }

    // MARK: Loop IR → LLVM

    private func value(_ expression: LoopExpr, _ environment: [LoopSymbol: IRValue]) -> IRValue {
        switch expression {
        case let .constant(constant): return const(constant)
        case let .variable(name): return environment[name]!
        case let .add(x, y): return b.add(value(x, environment), value(y, environment))
        case let .sub(x, y): return b.sub(value(x, environment), value(y, environment))
        case let .mul(x, factor): return b.mul(value(x, environment), const(factor))
        case let .div(x, divisor): return b.sdiv(value(x, environment), const(divisor))
        case let .min(x, y):
            let (vx, vy) = (value(x, environment), value(y, environment))
            return b.select(b.icmp(.slt, vx, vy), vx, vy)
        }
    }

    private func emit(_ nodes: [LoopNode], _ environment: inout [LoopSymbol: IRValue]) {
        for node in nodes {
            switch node {
            case let .loop(loop):
                let end = value(loop.end, environment), step = loop.step
                var inner = environment
                loops.loop(loop.variable.name, from: value(loop.start, environment), step: Int64(step), while: { iv in
                    loop.fullStepsOnly ? b.icmp(.sle, b.add(iv, const(step)), end) : b.icmp(.slt, iv, end)
                }) { iv, _ in
                    inner[loop.variable] = iv
                    emit(loop.body, &inner)
                    return []
                }
            case let .microkernel(call):
                let layout = e.layout
                let panel = value(call.tile.panel, environment)
                let bPanel = b.byteOffset(bBase, b.mul(panel, const(layout.panelBytes)), "b.panel")
                let column = b.mul(panel, const(layout.panelWidth), "col")
                let isTail = call.partialPanel.map { b.icmp(.eq, panel, const($0.index), "is.tail") }
                microkernel(call, row: value(call.tile.row, environment), bPanel: bPanel, column: column,
                            isTail: isTail, packedFrom: call.packedAFrom.map { value($0, environment) })
            case let .packA(rows):
                let from = value(rows.from, environment), to = value(rows.to, environment)
                switch rows.source {
                case .im2col:
                    var gather = ConvolutionGatherEmitter(geometry: e.convolution!, rowBytes: e.op.k, b: b, loops: loops,
                                                          input: aBase, buffer: gatheredA!)
                    gather.bordersOnly = packedA == nil && tileKernel == nil && e.convolution!.readsWindowsDirectly(kGroup: e.instruction.kGroup)
                    gather.emit(from: from, to: to)
                case .quantize: quantizeRows(from: from, to: to)
                case nil: break
                }
                if rows.widen { packRows(from: from, to: to) }
            case .accumulate, .epilogue:
                preconditionFailure("the verifier guarantees a lowerable program")
            }
        }
    }

    // MARK: Microkernel

    /// Widens rows [from, to) of A into the packed-A buffer: one i32 operand per K group.
    private func packRows(from: IRValue, to: IRValue) {
        let kGroup = e.instruction.kGroup, rowBytes = e.instruction.packedARowBytes(k: e.op.k)
        let fullGroups = e.op.k / kGroup, tailBytes = e.op.k % kGroup
        loops.loop("pack.r", from: from, step: 1, while: { b.icmp(.slt, $0, to) }) { r, _ in
            let source = gatheredA.map { b.byteOffset($0, b.mul(b.sub(r, from), const(e.op.k))) } ?? b.byteOffset(aBase, b.mul(r, lda))
            let target = b.byteOffset(packedA!, b.mul(b.sub(r, from), const(rowBytes)))
            // Whole chunks as vectors where the instruction has them, the remaining groups one by one.
            var firstGroup = 0
            if let chunkBytes = dot.packAChunkBytes, e.op.k >= chunkBytes {
                let chunks = fullGroups * kGroup / chunkBytes, packedChunkBytes = chunkBytes / kGroup * 4
                loops.loop("pack.chunk", from: const(0), step: 1, while: { b.icmp(.slt, $0, const(chunks)) }) { j, _ in
                    let value = dot.packAChunk(b, at: b.byteOffset(source, b.mul(j, const(chunkBytes))), signed: e.adjustment.aSigned)
                    b.store(value, to: b.byteOffset(target, b.mul(j, const(packedChunkBytes))), align: 4)
                    return []
                }
                firstGroup = chunks * chunkBytes / kGroup
            }
            loops.loop("pack.g", from: const(firstGroup), step: 1, while: { b.icmp(.slt, $0, const(fullGroups)) }) { g, _ in
                let value = dot.packAGroup(b, at: b.byteOffset(source, b.mul(g, const(kGroup))), validBytes: kGroup,
                                           signed: e.adjustment.aSigned)
                b.store(value, to: b.byteOffset(target, b.mul(g, const(4))), align: 4)
                return []
            }
            if tailBytes > 0 {
                let value = dot.packAGroup(b, at: b.byteOffset(source, const(fullGroups * kGroup)), validBytes: tailBytes,
                                           signed: e.adjustment.aSigned)
                b.store(value, to: b.byteOffset(target, const(fullGroups * 4)), align: 4)
            }
            return []
        }
    }

    /// Quantizes f32 rows [from, to) of A (row stride lda elements) to u8 into the produced-A
    /// buffer with A's run-time parameters (QuantizeLinear: sat(RNE(x / scale) + zp)).
    private func quantizeRows(from: IRValue, to: IRValue) {
        let lanes = dot.outputLanes, k = e.op.k
        let portable = e.instruction.isa == .portable
        loops.loop("quantize.r", from: from, step: 1, while: { b.icmp(.slt, $0, to) }) { r, _ in
            let index = e.op.aQuantMode == .perRowAtRunTime ? r : const(0)
            let scale = b.load(context.f32, from: b.byteOffset(aScales!, b.mul(index, const(4))), align: 4)
            let zeroPoint = b.load(context.i32, from: b.byteOffset(aZeroPoints!, b.mul(index, const(4))), align: 4)
            let source = b.byteOffset(aBase, b.mul(b.mul(r, lda), const(4)))
            let target = b.byteOffset(gatheredA!, b.mul(b.sub(r, from), const(k)))
            func quantize(_ offset: IRValue, width: Int) {
                let math = VectorMath(module: module, b: b, lanes: width)
                let x = b.load(context.vector(context.f32, width), from: b.byteOffset(source, b.mul(offset, const(4))), align: 4)
                let q = math.quantize(x, scale: b.splat(scale, count: width), zeroPoint: b.splat(zeroPoint, count: width), range: 0...255,
                                      portable: portable)
                b.store(b.trunc(q, to: context.vector(context.i8, width)), to: b.byteOffset(target, offset), align: 1)
            }
            let whole = k / lanes * lanes
            if whole > 0 {
                loops.loop("quantize.k", from: const(0), step: Int64(lanes), while: { b.icmp(.slt, $0, const(whole)) }) { offset, _ in
                    quantize(offset, width: lanes)
                    return []
                }
            }
            for offset in whole..<k { quantize(const(offset), width: 1) }
            return []
        }
    }

    private func microkernel(_ call: MicrokernelCall, row: IRValue, bPanel: IRValue, column: IRValue,
                             isTail: IRValue?, packedFrom: IRValue?) {
        let instruction = e.instruction, layout = e.layout, rows = call.tile.rows
        let vectors = call.vectors, kGroup = instruction.kGroup
        if let tileKernel {
            // A's rows: in place (stride lda) or in the row block's produced rows (stride K).
            let (firstRow, stride) = packedFrom.map { (b.byteOffset(gatheredA!, b.mul(b.sub(row, $0), const(e.op.k))), const(e.op.k)) }
                ?? (b.byteOffset(aBase, b.mul(row, lda)), lda!)
            let sums = tileKernel.emit(rows: rows, vectors: vectors, kUnroll: call.kUnroll, firstRow: firstRow, aStride: stride, bPanel: bPanel)
            epilogue(rows: rows, groups: 0, vectors: vectors, row: row, column: column, isTail: isTail,
                     partialColumns: call.partialPanel?.columns, accumulators: [], tileRowSums: sums)
            return
        }
        let m0 = instruction.rowsPerInstruction, groups = (rows + m0 - 1) / m0
        let needsRowSums = e.adjustment.needsRowSums
        // A rows in memory, or in the packed buffer (one i32 per K group) when the block packed them.
        let aRows = (0..<rows).map { i in
            if let packedFrom, packedA == nil {
                return b.byteOffset(gatheredA!, b.mul(b.sub(b.add(row, const(i)), packedFrom), const(e.op.k)), "a.gathered\(i)")
            }
            if let packedFrom {
                return b.byteOffset(packedA!, b.mul(b.sub(b.add(row, const(i)), packedFrom), const(instruction.packedARowBytes(k: e.op.k))),
                                    "a.packed\(i)")
            }
            return b.byteOffset(aBase, b.mul(b.add(row, const(i)), lda), "a.row\(i)")
        }
        let zero = context.null(dot.accumulatorType)
        // Accumulators: `vectors` per group of M0 rows, then one row-sum accumulator per group.
        var carried = [IRValue](repeating: zero, count: groups * vectors + (needsRowSums ? groups : 0))

        // One K group: the B vectors of group `group`, then each row group's A operand against them
        // (A's group `aGroup` from `rowsA`).
        let widened = packedFrom != nil && packedA != nil
        func step(_ group: IRValue, _ values: [IRValue], validBytes: Int, rowsA: [IRValue], aGroup: IRValue) -> [IRValue] {
            var values = values
            let groupB = b.byteOffset(bPanel, b.mul(group, const(layout.panelWidth * kGroup)))
            let bVectors = (0..<vectors).map { v in
                dot.loadB(b, at: b.byteOffset(groupB, const(v * instruction.columnsPerVector * kGroup)))
            }
            let aOffset = b.mul(aGroup, const(widened ? 4 : kGroup))
            for g in 0..<groups {
                let pointers = (0..<m0).map { r in g * m0 + r < rows ? b.byteOffset(rowsA[g * m0 + r], aOffset) : nil }
                let a = widened ? dot.loadPackedA(b, at: pointers[0]!)
                    : dot.loadAGroup(b, rows: pointers, validBytes: validBytes, flipSign: e.adjustment.flipsASignBit,
                                     signed: e.adjustment.aSigned)
                for v in 0..<vectors { values[g * vectors + v] = dot.dot(b, values[g * vectors + v], a, bVectors[v]) }
                if needsRowSums { values[groups * vectors + g] = dot.accumulateRowSum(b, values[groups * vectors + g], a) }
            }
            return values
        }
        // `count` whole K groups: B's from `firstB`, A's from group 0 of `rowsA`; unrolled by kUnroll.
        func wholeGroups(_ count: Int, firstB: IRValue, rowsA: [IRValue], _ carried: [IRValue]) -> [IRValue] {
            var carried = carried
            let unroll = max(1, min(call.kUnroll, count))
            let mainGroups = count / unroll * unroll
            if mainGroups > 0 {
                carried = loops.loop("k", from: const(0), step: Int64(unroll), carried: carried,
                                     while: { b.icmp(.slt, $0, const(mainGroups)) }) { group, values in
                    var values = values
                    for u in 0..<unroll {
                        let aGroup = u == 0 ? group : b.add(group, const(u))
                        values = step(b.add(firstB, aGroup), values, validBytes: kGroup, rowsA: rowsA, aGroup: aGroup)
                    }
                    return values
                }.carried
            }
            for group in mainGroups..<count {
                carried = step(b.add(firstB, const(group)), carried, validBytes: kGroup, rowsA: rowsA, aGroup: const(group))
            }
            return carried
        }

        if let packedFrom, let windows = directWindows(rows: rows, row: row, packedFrom: packedFrom) {
            // Window row by window row: each a whole number of K groups, read in place (interior
            // rows) or from the gathered copy (border rows).
            let g = e.convolution!, segmentGroups = g.kernelWidth * g.groupChannels / kGroup
            carried = loops.loop("kh", from: const(0), step: 1, carried: carried,
                                 while: { b.icmp(.slt, $0, const(g.kernelHeight)) }) { kh, values in
                let rowsA = windows.map { b.byteOffset($0.base, b.mul(kh, $0.rowStride)) }
                return wholeGroups(segmentGroups, firstB: b.mul(kh, const(segmentGroups)), rowsA: rowsA, values)
            }.carried
        } else {
            let fullGroups = e.op.k / kGroup, tailBytes = e.op.k % kGroup
            carried = wholeGroups(fullGroups, firstB: const(0), rowsA: aRows, carried)
            if tailBytes > 0 {
                carried = step(const(fullGroups), carried, validBytes: tailBytes, rowsA: aRows, aGroup: const(fullGroups))
            }
        }

        epilogue(rows: rows, groups: groups, vectors: vectors, row: row, column: column, isTail: isTail,
                 partialColumns: call.partialPanel?.columns, accumulators: carried)
    }

    /// Where a tile's A rows read their windows when the convolution's windows are read in place
    /// (`ConvolutionGeometry.readsWindowsDirectly`, A not widened): for row i, window row kh starts
    /// at `base + kh·rowStride` — the input at its window's corner with stride dh·W·C when its
    /// window is inside the image (the gather left it out), else its gathered copy with stride KW·C.
    private func directWindows(rows: Int, row: IRValue, packedFrom: IRValue) -> [(base: IRValue, rowStride: IRValue)]? {
        guard let g = e.convolution, packedA == nil, tileKernel == nil, g.readsWindowsDirectly(kGroup: e.instruction.kGroup),
              let tops = g.interiorWindowTops, let columns = g.contiguousInteriorColumns else { return nil }
        let pixels = g.outputHeight * g.outputWidth
        return (0..<rows).map { i in
            let r = b.add(row, const(i))
            let image = b.sdiv(r, const(pixels)), pixel = b.srem(r, const(pixels))
            let oh = b.sdiv(pixel, const(g.outputWidth)), ow = b.srem(pixel, const(g.outputWidth))
            let top = b.sub(b.mul(oh, const(g.strides[0])), const(g.pads[0]))
            let left = b.sub(b.mul(ow, const(g.strides[1])), const(g.pads[1]))
            let inside = b.and(b.and(b.icmp(.sge, top, const(tops.lowerBound)), b.icmp(.sle, top, const(tops.upperBound))),
                               b.and(b.icmp(.sge, ow, const(columns.lowerBound)), b.icmp(.sle, ow, const(columns.upperBound))))
            let corner = b.byteOffset(aBase, b.mul(b.add(b.mul(b.add(b.mul(image, const(g.height)), top), const(g.width)), left),
                                                   const(g.pixelStride)))
            let gathered = b.byteOffset(gatheredA!, b.mul(b.sub(r, packedFrom), const(e.op.k)))
            return (b.select(inside, corner, gathered),
                    b.select(inside, const(g.dilations[0] * g.width * g.pixelStride), const(g.kernelWidth * g.groupChannels)))
        }
    }

    // MARK: Epilogue

    private mutating func makeEpilogueConstants() {
        if e.adjustment.needsRowSums {
            let points = e.adjustment.bZeroPoints.map { context.constInt(context.i32, Int64($0)) }
            bZeroPoints = ColumnConstant.make("b.zero.points", points, context.i32, uniform: e.adjustment.uniformBZeroPoint,
                                              paddedTo: e.layout.paddedN, module: module)
        }
        outputMode = OutputEpilogue(op: e.op, module: module, builder: b, columns: e.layout.paddedN, isa: e.instruction.isa)
    }

    /// Tile rows whose epilogues run side by side in one vector (2 measured best on Zen 5 for the
    /// GELU chain; with the scheduling barrier, 1 and 3 are about a point slower).
    static let rowsTogether = 2

    /// `tileRowSums`: the rows are already in the accumulator tile (a tile microkernel stored
    /// them), with these row sums.
    private func epilogue(rows: Int, groups: Int, vectors: Int, row: IRValue, column: IRValue, isTail: IRValue?,
                          partialColumns: Int?, accumulators: [IRValue], tileRowSums: [IRValue?]? = nil) {
        let op = e.op, lanes = dot.outputLanes, m0 = e.instruction.rowsPerInstruction
        let outputType = op.output.elementType
        let compensation = b.byteOffset(bBase, const(e.layout.compensationOffset))
        let size = outputType.byteSize, tileRowBytes = e.layout.panelWidth * size
        let columnSums = e.layout.hasColumnSums ? b.byteOffset(bBase, const(e.layout.columnSumsOffset)) : nil
        // The residual rows of this tile (the last, partial panel's valid columns copied to the stack).
        var residualRows: [IRValue] = []
        if let residualBase, let ldResidual {
            residualRows = (0..<rows).map { i in
                b.byteOffset(residualBase, b.add(b.mul(b.add(row, const(i)), ldResidual), column), "residual.row\(i)")
            }
            if let isTail, let residualScratch {
                let copy = b.appendBlock(function, "residual.copy"), done = b.appendBlock(function, "residual.done")
                b.condBr(isTail, copy, done)
                b.position(at: copy)
                for (i, source) in residualRows.enumerated() {
                    b.memcpy(to: b.byteOffset(residualScratch, const(i * e.layout.panelWidth)), align: 1, from: source, align: 1, size: const(partialColumns!))
                }
                b.br(done)
                b.position(at: done)
                residualRows = residualRows.enumerated().map { i, source in
                    b.select(isTail, b.byteOffset(residualScratch, const(i * e.layout.panelWidth)), source)
                }
            }
        }
        var cTiles: [IRValue] = []
        let width = e.layout.panelWidth, wideInts = context.vector(context.i32, width)
        // The tile's int32 rows go to a stack tile first and come back one row at a time (volatile,
        // so that LLVM cannot forward the stores): the epilogue of a row then has the register file
        // to itself instead of spilling the accumulators of the rows still waiting.
        // (An int32 output has no epilogue arithmetic: its rows are stored straight from registers.)
        var rowSums: [IRValue?] = tileRowSums ?? [], rowValues: [IRValue] = []
        for i in 0..<rows where tileRowSums == nil {
            let group = i / m0
            rowSums.append(e.adjustment.needsRowSums ? dot.rowSum(b, accumulators[groups * vectors + group], row: i % m0) : nil)
            let outputs = dot.rowOutputs(b, accumulators[(group * vectors)..<(group * vectors + vectors)], row: i % m0)
            precondition(outputs.count * lanes == width, "a tile row holds the panel's columns")
            rowValues.append(b.concat(Array(outputs)))
            if let accumulatorTile { b.store(rowValues[i], to: b.byteOffset(accumulatorTile, const(i * width * 4)), align: 64) }
        }
        for i in 0..<rows {
            let cRow = b.byteOffset(cBase, b.mul(b.mul(b.add(row, const(i)), ldc), const(size)))
            let cTile = b.byteOffset(cRow, b.mul(column, const(size)), "c.tile\(i)")
            cTiles.append(cTile)
        }
        /// Row `i`'s adjusted int32 vector, A's run-time scale for it, its residual and where it goes.
        func prepare(_ i: Int) -> (acc: IRValue, aScale: IRValue?, residual: IRValue?, target: IRValue) {
            // Rows of the last, partial panel go to the scratch tile first.
            let target = isTail.map { b.select($0, b.byteOffset(scratchTile!, const(i * tileRowBytes)), cTiles[i]) } ?? cTiles[i]
            let rowSum = rowSums[i].map { b.splat($0, count: width) }
            var loaded = tileRowSums == nil ? rowValues[i] : context.null(wideInts)
            if let accumulatorTile {
                loaded = b.load(wideInts, from: b.byteOffset(accumulatorTile, const(i * width * 4)), align: 64)
                b.setVolatile(loaded)
            }
            // A's run-time scale and zero point for this row (one per call, or one per row).
            var runTimeA: (scale: IRValue, zeroPoint: IRValue)? = nil
            if let aScales, let aZeroPoints {
                let index = e.op.aQuantMode == .perRowAtRunTime ? b.add(row, const(i)) : const(0)
                let scale = b.load(context.f32, from: b.byteOffset(aScales, b.mul(index, const(4))), align: 4)
                let zeroPoint = b.load(context.i32, from: b.byteOffset(aZeroPoints, b.mul(index, const(4))), align: 4)
                runTimeA = (b.splat(scale, count: width), b.splat(zeroPoint, count: width))
            }
            var acc = b.add(loaded, b.load(wideInts, from: b.byteOffset(compensation, b.mul(column, const(4))), align: 4 * lanes))
            if let rowSum, let bZeroPoints {
                acc = b.sub(acc, b.mul(bZeroPoints.load(b, column: column, width: width), rowSum))
            }
            if let runTimeA, let columnSums {
                let sums = b.load(wideInts, from: b.byteOffset(columnSums, b.mul(column, const(4))), align: 4 * lanes)
                acc = b.sub(acc, b.mul(runTimeA.zeroPoint, sums))
            }
            return (acc, runTimeA?.scale, residualRows.isEmpty ? nil : residualRows[i], target)
        }
        // Rows go through the epilogue `rowsTogether` at a time: the row's vectors as one wide
        // vector, and rows side by side, so that every epilogue operation becomes several
        // independent instructions. With a stack tile, a scheduling barrier after each group keeps
        // the code generator from interleaving all the groups (which spills their temporaries):
        // the next group's volatile loads, and so everything computed from them, stay after it.
        for first in stride(from: 0, to: rows, by: Self.rowsTogether) {
            let group = (first..<min(rows, first + Self.rowsTogether)).map(prepare)
            let scales = group.compactMap(\.aScale)
            let out = outputMode.convert(b.concat(group.map(\.acc)), column: column, width: width * group.count, rows: group.count,
                                         aScale: scales.isEmpty ? nil : b.concat(scales), residual: group.compactMap(\.residual))
            for (r, row) in group.enumerated() {
                b.store(group.count == 1 ? out : b.slice(out, from: r * width, count: width), to: row.target, align: 1)
            }
            if accumulatorTile != nil && first + Self.rowsTogether < rows { b.schedulingBarrier() }
        }
        guard let isTail else { return }
        let copy = b.appendBlock(function, "tail.copy"), done = b.appendBlock(function, "tail.done")
        b.condBr(isTail, copy, done)
        b.position(at: copy)
        let validBytes = const(partialColumns! * size)
        for (i, cTile) in cTiles.enumerated() {
            b.memcpy(to: cTile, align: 1, from: b.byteOffset(scratchTile!, const(i * tileRowBytes)), align: 64, size: validBytes)
        }
        b.br(done)
        b.position(at: done)
    }
}
