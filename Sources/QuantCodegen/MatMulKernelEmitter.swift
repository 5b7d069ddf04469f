import CLLVM
import LLVMKit
import QuantOps
import QuantSchedule

/// Emits one matmul kernel `void name(const qf_matmul_args *)` as LLVM IR: lowers the op to the
/// loop IR (`MatMulLowering`), then turns the verified program into LLVM IR — loops become SSA
/// loops, each microkernel call becomes the instruction's register-tiled K loop:
/// ```
/// microkernel<R rows × NV vectors>: acc[R][NV] (+ R row sums) over K groups, unrolled by kUnroll;
///   a partial last K group reads only the bytes that exist; then the fused epilogue:
///   + compensation, - b_zp'·rowsum(A'), the output mode (int32 / requantize / dequantize), and
///   stores (the last, partial panel is stored to a stack tile whose valid columns go to C).
/// ```
public struct MatMulKernelEmitter {
    public let op: MatMul
    public let schedule: MatMulSchedule
    public let instruction: DotInstruction
    public let layout: PackedLayout
    public let adjustment: OperandAdjustment
    /// Set for an implicit-GEMM convolution: A's rows are gathered from the input per row block.
    public let convolution: ConvolutionGeometry?
    /// True when the row blocks widen A into the instruction's packed form.
    public var widensA: Bool { instruction.packsA(rowBlock: schedule.rowBlock, k: op.k) }

    public init(op: MatMul, schedule: MatMulSchedule, convolution: ConvolutionGeometry? = nil) throws(QuantError) {
        self.op = op
        self.schedule = schedule
        self.convolution = convolution
        instruction = try schedule.instruction()
        let layout = try schedule.layout(k: op.k, n: op.n)
        self.layout = op.aQuantMode.isRunTime ? layout.withColumnSums() : layout
        adjustment = OperandAdjustment(op: op, instruction: instruction)
        try schedule.validate(rowSums: adjustment.needsRowSums)
        if let convolution, convolution.rowBytes != op.k {
            throw .invalidShape(field: "K", reason: "K = \(op.k) is not the window of \(convolution)")
        }
        if convolution != nil && op.aType == .f32 {
            throw .invalidSchedule(constraint: "a convolution's input is quantized (f32 A is for the dynamic linear)")
        }
        if producedA != nil && schedule.rowBlock * op.k > MatMulSchedule.producedABytesLimit {
            throw .invalidSchedule(constraint: "a row block of \(schedule.rowBlock) produced rows of \(op.k) bytes exceeds \(MatMulSchedule.producedABytesLimit) bytes")
        }
    }

    /// How row blocks produce A's rows: gathered windows (convolution), quantized f32 rows, or
    /// nil when A is read as is.
    public var producedA: PackARows.Source? {
        convolution != nil ? .im2col : (op.aType == .f32 ? .quantize : nil)
    }

    /// The kernel's verified loop program (each pass dumped under `QFORGE_DUMP=loops`).
    public func lower(name: String = "kernel") throws(QuantError) -> LoopProgram {
        try MatMulLowering.lower(op: op, schedule: schedule, instruction: instruction, layout: layout, name: name,
                                 producesA: producedA)
    }

    /// Lowers the op and adds the kernel function `name` to `module`, whose target machine has the
    /// feature string `targetFeatures`: the instruction's confining features (e.g. `-avx512f` for
    /// AVX2) are appended to it on the function, so a forced ISA yields code for that ISA only.
    public func emit(into module: Module, name: String, targetFeatures: String) throws -> LLVMValueRef {
        let program = try lower(name: name)
        var state = try EmissionState(emitter: self, module: module, name: name)
        let architecture = module.triple.split(separator: "-").first.map(String.init) ?? ""
        if let confining = instruction.confiningFeatures[architecture] {
            let features = targetFeatures.isEmpty ? confining : targetFeatures + "," + confining
            LLVMAddTargetDependentFunctionAttr(state.function, "target-features", features)
        }
        state.emitBody(program)
        return state.function
    }
}

/// The values and helpers live while one kernel function is emitted.
private struct EmissionState {
    let e: MatMulKernelEmitter
    let context: Context
    let module: Module
    let b: IRBuilder
    let dot: DotEmitter
    let function: LLVMValueRef
    let loops: LoopBuilder
    let i64: LLVMTypeRef

    // Kernel arguments (qf_matmul_args).
    var aBase: LLVMValueRef! = nil
    var lda: LLVMValueRef! = nil
    var bBase: LLVMValueRef! = nil
    var cBase: LLVMValueRef! = nil
    var ldc: LLVMValueRef! = nil
    var rowBegin: LLVMValueRef! = nil
    var rowEnd: LLVMValueRef! = nil
    var panelBegin: LLVMValueRef! = nil
    var panelEnd: LLVMValueRef! = nil
    /// MR × NR output tile on the stack: the last, partial panel is stored here and its valid
    /// columns copied to C, so that no store ever passes column N.
    var scratchTile: LLVMValueRef? = nil
    /// The int32 rows of a tile between its dot products and its epilogue (not for int32 output).
    var accumulatorTile: LLVMValueRef? = nil
    var epilogueGoesThroughTile: Bool { if case .int32 = e.op.output { false } else { true } }
    /// The row block's packed A (pack-A instructions only): `rowBlock` rows of one i32 per K group.
    var packedA: LLVMValueRef? = nil
    /// The row block's gathered convolution windows (convolutions only): `rowBlock` rows of K bytes.
    var gatheredA: LLVMValueRef? = nil

    // Per-column epilogue constants: a splat when uniform, else a private global array.
    var bZeroPoints: ColumnConstant? = nil
    /// The output mode on accumulator vectors (its constants live in the module).
    var outputMode: OutputEpilogue! = nil
    // Run-time inputs read only by the kernels that need them (qf_matmul_args fields 9-12).
    var residualBase: LLVMValueRef? = nil
    var ldResidual: LLVMValueRef? = nil
    var aScales: LLVMValueRef? = nil
    var aZeroPoints: LLVMValueRef? = nil
    /// MR × NR residual bytes on the stack: the last, partial panel's valid residual columns are
    /// copied here first, so that no load passes column N.
    var residualScratch: LLVMValueRef? = nil

    init(emitter: MatMulKernelEmitter, module: Module, name: String) throws {
        e = emitter
        self.module = module
        context = module.context
        b = IRBuilder(context)
        i64 = context.i64
        dot = try DotEmitters.make(emitter.instruction, module: module, bSigned: emitter.adjustment.bSigned)
        let functionType = context.function(context.void, [context.pointer(to: context.i8)])
        function = module.addFunction(name, type: functionType)
        for attribute in ["nounwind", "nofree"] {
            let kind = LLVMGetEnumAttributeKindForName(attribute, attribute.utf8.count)
            LLVMAddAttributeAtIndex(function, UInt32(bitPattern: -1), LLVMCreateEnumAttribute(context.ref, kind, 0))
        }
        loops = LoopBuilder(builder: b, function: function)
    }

    private func const(_ value: Int) -> LLVMValueRef { context.constInt(i64, Int64(value)) }

    mutating func emitBody(_ program: LoopProgram) {
        let entry = b.appendBlock(function, "entry")
        b.position(at: entry)
        let args = LLVMGetParam(function, 0)!
        let bytePointer = context.pointer(to: context.i8)
        func field(_ index: Int) -> LLVMValueRef { b.load(i64, from: b.byteOffset(args, const(8 * index)), align: 8) }
        aBase = b.intToPtr(field(0), to: bytePointer)
        lda = field(1)
        bBase = b.intToPtr(field(2), to: bytePointer)
        cBase = b.intToPtr(field(3), to: bytePointer)
        ldc = field(4)
        rowBegin = field(5)
        rowEnd = field(6)
        panelBegin = field(7)
        panelEnd = field(8)
        if case let .chain(chain) = e.op.output, chain.residual != nil {
            residualBase = b.intToPtr(field(9), to: bytePointer)
            ldResidual = field(10)
            if e.layout.lastPanelColumns != e.layout.panelWidth {
                let buffer = LLVMBuildAlloca(b.ref, context.array(context.i8, e.schedule.rowsPerTile * e.layout.panelWidth), "residual.tile")!
                LLVMSetAlignment(buffer, 64)
                residualScratch = b.bitcast(buffer, to: bytePointer)
            }
        }
        if e.op.aQuantMode.isRunTime {
            aScales = b.intToPtr(field(11), to: bytePointer)
            aZeroPoints = b.intToPtr(field(12), to: bytePointer)
        }
        makeEpilogueConstants()
        if epilogueGoesThroughTile {
            let m0 = e.instruction.rowsPerInstruction
            let bytes = (e.schedule.rowsPerTile + m0 - 1) / m0 * m0 * e.layout.panelWidth * 4
            let tile = LLVMBuildAlloca(b.ref, context.array(context.i8, bytes), "acc.tile")!
            LLVMSetAlignment(tile, 64)
            accumulatorTile = b.bitcast(tile, to: bytePointer)
        }
        if e.layout.lastPanelColumns != e.layout.panelWidth {
            let bytes = e.schedule.rowsPerTile * e.layout.panelWidth * e.op.output.elementType.byteSize
            let tile = LLVMBuildAlloca(b.ref, context.array(context.i8, bytes), "scratch.tile")!
            LLVMSetAlignment(tile, 64)
            scratchTile = b.bitcast(tile, to: bytePointer)
        }
        if e.producedA != nil {
            let buffer = LLVMBuildAlloca(b.ref, context.array(context.i8, e.schedule.rowBlock * e.op.k), "gathered.a")!
            LLVMSetAlignment(buffer, 64)
            gatheredA = b.bitcast(buffer, to: bytePointer)
        }
        if program.packsA && e.widensA {
            let bytes = e.schedule.rowBlock * e.instruction.packedARowBytes(k: e.op.k)
            let buffer = LLVMBuildAlloca(b.ref, context.array(context.i8, bytes), "packed.a")!
            LLVMSetAlignment(buffer, 64)
            packedA = b.bitcast(buffer, to: bytePointer)
        }

        var environment: [String: LLVMValueRef] = [
            "row_begin": rowBegin, "row_end": rowEnd, "panel_begin": panelBegin, "panel_end": panelEnd,
        ]
        emit(program.body, &environment)
        b.retVoid()
    }

    // MARK: Loop IR → LLVM

    private func value(_ expression: LoopExpr, _ environment: [String: LLVMValueRef]) -> LLVMValueRef {
        switch expression {
        case let .constant(constant): return const(constant)
        case let .variable(name): return environment[name]!
        case let .add(x, y): return b.add(value(x, environment), value(y, environment))
        case let .sub(x, y): return b.sub(value(x, environment), value(y, environment))
        case let .mul(x, factor): return b.mul(value(x, environment), const(factor))
        case let .div(x, divisor): return LLVMBuildSDiv(b.ref, value(x, environment), const(divisor), "")
        case let .min(x, y):
            let (vx, vy) = (value(x, environment), value(y, environment))
            return b.select(b.icmp(LLVMIntSLT, vx, vy), vx, vy)
        }
    }

    private func emit(_ nodes: [LoopNode], _ environment: inout [String: LLVMValueRef]) {
        for node in nodes {
            switch node {
            case let .loop(loop):
                let end = value(loop.end, environment), step = loop.step
                var inner = environment
                loops.loop(loop.variable, from: value(loop.start, environment), step: Int64(step), while: { iv in
                    loop.fullStepsOnly ? b.icmp(LLVMIntSLE, b.add(iv, const(step)), end) : b.icmp(LLVMIntSLT, iv, end)
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
                let isTail = layout.lastPanelColumns != layout.panelWidth
                    ? b.icmp(LLVMIntEQ, panel, const(layout.panels - 1), "is.tail") : nil
                microkernel(rows: call.tile.rows, row: value(call.tile.row, environment), bPanel: bPanel, column: column,
                            isTail: isTail, packedFrom: call.packedAFrom.map { value($0, environment) })
            case let .packA(rows):
                let from = value(rows.from, environment), to = value(rows.to, environment)
                switch rows.source {
                case .im2col: gatherRows(from: from, to: to)
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
    private func packRows(from: LLVMValueRef, to: LLVMValueRef) {
        let kGroup = e.instruction.kGroup, rowBytes = e.instruction.packedARowBytes(k: e.op.k)
        let fullGroups = e.op.k / kGroup, tailBytes = e.op.k % kGroup
        loops.loop("pack.r", from: from, step: 1, while: { b.icmp(LLVMIntSLT, $0, to) }) { r, _ in
            let source = gatheredA.map { b.byteOffset($0, b.mul(b.sub(r, from), const(e.op.k))) } ?? b.byteOffset(aBase, b.mul(r, lda))
            let target = b.byteOffset(packedA!, b.mul(b.sub(r, from), const(rowBytes)))
            loops.loop("pack.g", from: const(0), step: 1, while: { b.icmp(LLVMIntSLT, $0, const(fullGroups)) }) { g, _ in
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

    /// Gathers the convolution windows of rows [from, to) into the gathered-A buffer: for each
    /// (kh, kw), the group's channels of the input pixel, or the input's zero point outside it.
    private func gatherRows(from: LLVMValueRef, to: LLVMValueRef) {
        let g = e.convolution!
        let pixels = g.outputHeight * g.outputWidth
        let channels = const(g.groupChannels)
        let padding = context.constInt(context.i8, Int64(g.paddingByte))
        loops.loop("gather.r", from: from, step: 1, while: { b.icmp(LLVMIntSLT, $0, to) }) { r, _ in
            let image = LLVMBuildSDiv(b.ref, r, const(pixels), "")!
            let pixel = LLVMBuildSRem(b.ref, r, const(pixels), "")!
            let oh = LLVMBuildSDiv(b.ref, pixel, const(g.outputWidth), "")!
            let ow = LLVMBuildSRem(b.ref, pixel, const(g.outputWidth), "")!
            let target = b.byteOffset(gatheredA!, b.mul(b.sub(r, from), const(e.op.k)))
            let top = b.sub(b.mul(oh, const(g.strides[0])), const(g.pads[0]))
            let left = b.sub(b.mul(ow, const(g.strides[1])), const(g.pads[1]))
            // With one group and no horizontal dilation, a kernel row's taps are one contiguous run
            // of KW·C bytes whenever the whole row lies inside the image: one copy instead of KW.
            let contiguousRows = g.groupChannels == g.pixelStride && g.dilations[1] == 1 && g.kernelWidth > 1
            let rowFits = b.and(b.icmp(LLVMIntSGE, left, const(0)), b.icmp(LLVMIntSLE, left, const(g.width - g.kernelWidth)))
            loops.loop("gather.kh", from: const(0), step: 1, while: { b.icmp(LLVMIntSLT, $0, const(g.kernelHeight)) }) { kh, _ in
                let ih = b.add(top, b.mul(kh, const(g.dilations[0])))
                let rowInside = b.and(b.icmp(LLVMIntSGE, ih, const(0)), b.icmp(LLVMIntSLT, ih, const(g.height)))
                let rowStart = b.mul(b.add(b.mul(image, const(g.height)), ih), const(g.width))
                let rowTarget = b.byteOffset(target, b.mul(kh, const(g.kernelWidth * g.groupChannels)))
                var finished: LLVMBasicBlockRef? = nil
                if contiguousRows {
                    let whole = b.appendBlock(function, "gather.row"), each = b.appendBlock(function, "gather.taps")
                    finished = b.appendBlock(function, "gather.row.done")
                    b.condBr(b.and(rowInside, rowFits), whole, each)
                    b.position(at: whole)
                    LLVMBuildMemCpy(b.ref, rowTarget, 1, b.byteOffset(aBase, b.mul(b.add(rowStart, left), const(g.pixelStride))), 1,
                                    const(g.kernelWidth * g.groupChannels))
                    b.br(finished!)
                    b.position(at: each)
                }
                loops.loop("gather.kw", from: const(0), step: 1, while: { b.icmp(LLVMIntSLT, $0, const(g.kernelWidth)) }) { kw, _ in
                    let iw = b.add(left, b.mul(kw, const(g.dilations[1])))
                    let inside = b.and(rowInside, b.and(b.icmp(LLVMIntSGE, iw, const(0)), b.icmp(LLVMIntSLT, iw, const(g.width))))
                    let destination = b.byteOffset(rowTarget, b.mul(kw, channels))
                    let copy = b.appendBlock(function, "gather.copy"), fill = b.appendBlock(function, "gather.fill")
                    let done = b.appendBlock(function, "gather.done")
                    b.condBr(inside, copy, fill)
                    b.position(at: copy)
                    LLVMBuildMemCpy(b.ref, destination, 1, b.byteOffset(aBase, b.mul(b.add(rowStart, iw), const(g.pixelStride))), 1, channels)
                    b.br(done)
                    b.position(at: fill)
                    LLVMBuildMemSet(b.ref, destination, padding, channels, 1)
                    b.br(done)
                    b.position(at: done)
                    return []
                }
                if let finished {
                    b.br(finished)
                    b.position(at: finished)
                }
                return []
            }
            return []
        }
    }

    /// Quantizes f32 rows [from, to) of A (row stride lda elements) to u8 into the produced-A
    /// buffer with A's run-time parameters (QuantizeLinear: sat(RNE(x / scale) + zp)).
    private func quantizeRows(from: LLVMValueRef, to: LLVMValueRef) {
        let lanes = dot.outputLanes, k = e.op.k
        let portable = e.instruction.isa == .portable
        loops.loop("quantize.r", from: from, step: 1, while: { b.icmp(LLVMIntSLT, $0, to) }) { r, _ in
            let index = e.op.aQuantMode == .perRowAtRunTime ? r : const(0)
            let scale = b.load(context.f32, from: b.byteOffset(aScales!, b.mul(index, const(4))), align: 4)
            let zeroPoint = b.load(context.i32, from: b.byteOffset(aZeroPoints!, b.mul(index, const(4))), align: 4)
            let source = b.byteOffset(aBase, b.mul(b.mul(r, lda), const(4)))
            let target = b.byteOffset(gatheredA!, b.mul(b.sub(r, from), const(k)))
            func quantize(_ offset: LLVMValueRef, width: Int) {
                let math = VectorMath(module: module, b: b, lanes: width)
                let x = b.load(context.vector(context.f32, width), from: b.byteOffset(source, b.mul(offset, const(4))), align: 4)
                let q = math.quantize(x, scale: b.splat(scale, count: width), zeroPoint: b.splat(zeroPoint, count: width), range: 0...255,
                                      portable: portable)
                b.store(b.trunc(q, to: context.vector(context.i8, width)), to: b.byteOffset(target, offset), align: 1)
            }
            let whole = k / lanes * lanes
            if whole > 0 {
                loops.loop("quantize.k", from: const(0), step: Int64(lanes), while: { b.icmp(LLVMIntSLT, $0, const(whole)) }) { offset, _ in
                    quantize(offset, width: lanes)
                    return []
                }
            }
            for offset in whole..<k { quantize(const(offset), width: 1) }
            return []
        }
    }

    private func microkernel(rows: Int, row: LLVMValueRef, bPanel: LLVMValueRef, column: LLVMValueRef,
                             isTail: LLVMValueRef?, packedFrom: LLVMValueRef?) {
        let instruction = e.instruction, layout = e.layout
        let vectors = e.schedule.vectorsPerRow, kGroup = instruction.kGroup
        let m0 = instruction.rowsPerInstruction, groups = (rows + m0 - 1) / m0
        let needsRowSums = e.adjustment.needsRowSums
        // A rows in memory, or in the packed buffer (one i32 per K group) when the block packed them.
        let aRows = (0..<rows).map { i in
            if let packedFrom, !e.widensA {
                return b.byteOffset(gatheredA!, b.mul(b.sub(b.add(row, const(i)), packedFrom), const(e.op.k)), "a.gathered\(i)")
            }
            if let packedFrom {
                return b.byteOffset(packedA!, b.mul(b.sub(b.add(row, const(i)), packedFrom), const(instruction.packedARowBytes(k: e.op.k))),
                                    "a.packed\(i)")
            }
            return b.byteOffset(aBase, b.mul(b.add(row, const(i)), lda), "a.row\(i)")
        }
        let zero = LLVMConstNull(dot.accumulatorType)!
        // Accumulators: `vectors` per group of M0 rows, then one row-sum accumulator per group.
        var carried = [LLVMValueRef](repeating: zero, count: groups * vectors + (needsRowSums ? groups : 0))

        // One K group: the B vectors of the group, then each row group's A operand against them.
        func step(_ group: LLVMValueRef, _ values: [LLVMValueRef], validBytes: Int) -> [LLVMValueRef] {
            var values = values
            let groupB = b.byteOffset(bPanel, b.mul(group, const(layout.panelWidth * kGroup)))
            let bVectors = (0..<vectors).map { v in
                dot.loadB(b, at: b.byteOffset(groupB, const(v * instruction.columnsPerVector * kGroup)))
            }
            let widened = packedFrom != nil && e.widensA
            let aOffset = b.mul(group, const(widened ? 4 : kGroup))
            for g in 0..<groups {
                let pointers = (0..<m0).map { r in g * m0 + r < rows ? b.byteOffset(aRows[g * m0 + r], aOffset) : nil }
                let a = widened ? dot.loadPackedA(b, at: pointers[0]!)
                    : dot.loadAGroup(b, rows: pointers, validBytes: validBytes, flipSign: e.adjustment.flipsASignBit,
                                     signed: e.adjustment.aSigned)
                for v in 0..<vectors { values[g * vectors + v] = dot.dot(b, values[g * vectors + v], a, bVectors[v]) }
                if needsRowSums { values[groups * vectors + g] = dot.accumulateRowSum(b, values[groups * vectors + g], a) }
            }
            return values
        }

        let fullGroups = e.op.k / kGroup, tailBytes = e.op.k % kGroup
        let unroll = max(1, min(e.schedule.kUnroll, fullGroups))
        let mainGroups = fullGroups / unroll * unroll
        if mainGroups > 0 {
            carried = loops.loop("k", from: const(0), step: Int64(unroll), carried: carried,
                                 while: { b.icmp(LLVMIntSLT, $0, const(mainGroups)) }) { group, values in
                var values = values
                for u in 0..<unroll { values = step(u == 0 ? group : b.add(group, const(u)), values, validBytes: kGroup) }
                return values
            }.carried
        }
        for group in mainGroups..<fullGroups { carried = step(const(group), carried, validBytes: kGroup) }
        if tailBytes > 0 { carried = step(const(fullGroups), carried, validBytes: tailBytes) }

        epilogue(rows: rows, groups: groups, row: row, column: column, isTail: isTail, accumulators: carried)
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

    private func epilogue(rows: Int, groups: Int, row: LLVMValueRef, column: LLVMValueRef, isTail: LLVMValueRef?,
                          accumulators: [LLVMValueRef]) {
        let op = e.op, lanes = dot.outputLanes, vectors = e.schedule.vectorsPerRow, m0 = e.instruction.rowsPerInstruction
        let outputType = op.output.elementType
        let compensation = b.byteOffset(bBase, const(e.layout.compensationOffset))
        let size = outputType.byteSize, tileRowBytes = e.layout.panelWidth * size
        let columnSums = e.layout.hasColumnSums ? b.byteOffset(bBase, const(e.layout.columnSumsOffset)) : nil
        // The residual rows of this tile (the last, partial panel's valid columns copied to the stack).
        var residualRows: [LLVMValueRef] = []
        if let residualBase, let ldResidual {
            residualRows = (0..<rows).map { i in
                b.byteOffset(residualBase, b.add(b.mul(b.add(row, const(i)), ldResidual), column), "residual.row\(i)")
            }
            if let isTail, let residualScratch {
                let copy = b.appendBlock(function, "residual.copy"), done = b.appendBlock(function, "residual.done")
                b.condBr(isTail, copy, done)
                b.position(at: copy)
                for (i, source) in residualRows.enumerated() {
                    LLVMBuildMemCpy(b.ref, b.byteOffset(residualScratch, const(i * e.layout.panelWidth)), 1, source, 1,
                                    const(e.layout.lastPanelColumns))
                }
                b.br(done)
                b.position(at: done)
                residualRows = residualRows.enumerated().map { i, source in
                    b.select(isTail, b.byteOffset(residualScratch, const(i * e.layout.panelWidth)), source)
                }
            }
        }
        var cTiles: [LLVMValueRef] = []
        let width = e.layout.panelWidth, wideInts = context.vector(context.i32, width)
        // The tile's int32 rows go to a stack tile first and come back one row at a time (volatile,
        // so that LLVM cannot forward the stores): the epilogue of a row then has the register file
        // to itself instead of spilling the accumulators of the rows still waiting.
        // (An int32 output has no epilogue arithmetic: its rows are stored straight from registers.)
        var rowSums: [LLVMValueRef?] = [], rowValues: [LLVMValueRef] = []
        for i in 0..<rows {
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
        func prepare(_ i: Int) -> (acc: LLVMValueRef, aScale: LLVMValueRef?, residual: LLVMValueRef?, target: LLVMValueRef) {
            // Rows of the last, partial panel go to the scratch tile first.
            let target = isTail.map { b.select($0, b.byteOffset(scratchTile!, const(i * tileRowBytes)), cTiles[i]) } ?? cTiles[i]
            let rowSum = rowSums[i].map { b.splat($0, count: width) }
            var loaded = rowValues[i]
            if let accumulatorTile {
                loaded = b.load(wideInts, from: b.byteOffset(accumulatorTile, const(i * width * 4)), align: 64)
                LLVMSetVolatile(loaded, 1)
            }
            // A's run-time scale and zero point for this row (one per call, or one per row).
            var runTimeA: (scale: LLVMValueRef, zeroPoint: LLVMValueRef)? = nil
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
        let validBytes = const(e.layout.lastPanelColumns * size)
        for (i, cTile) in cTiles.enumerated() {
            LLVMBuildMemCpy(b.ref, cTile, 1, b.byteOffset(scratchTile!, const(i * tileRowBytes)), 64, validBytes)
        }
        b.br(done)
        b.position(at: done)
    }
}
