import LLVMKit
import QuantOps
import QuantSchedule

/// One elementwise kernel `void name(const qf_elementwise_args *)` being emitted for an
/// instruction set: its arguments, its vector width (the ISA's int32 lanes: 16 for AVX-512, 8 for
/// AVX2, 16 split by LLVM into SSE2 registers for the portable path), and helpers to load, convert
/// and store tensors of every element type. Loops over elements run whole vectors, then a scalar
/// remainder (the same body with one lane), so no access passes the end of a tensor.
struct ElementwiseFunction {
    let module: Module
    let context: Context
    let b: IRBuilder
    let function: IRValue
    let loops: LoopBuilder
    let lanes: Int
    let isa: ISA
    var portable: Bool { isa == .portable }
    let i64: IRType
    // qf_elementwise_args
    let x: IRValue
    let x2: IRValue
    let y: IRValue
    let extra: IRValue
    let extra2: IRValue
    /// `extra` and `extra2` as the integers they hold, for kernels that pass counts there.
    let extraInteger: IRValue
    let extra2Integer: IRValue
    let begin: IRValue
    let end: IRValue

    /// Adds the function to `module` and positions the builder in its entry block. The
    /// instruction's confining features are set on it, as for matmul kernels.
    init(module: Module, name: String, instruction: DotInstruction, targetFeatures: String) {
        self.module = module
        context = module.context
        b = IRBuilder(context)
        i64 = context.i64
        let bytePointer = context.pointer(to: context.i8)
        function = module.addFunction(name, type: context.function(context.void, [bytePointer]))
        IRFunction.addAttributes(function, ["nounwind", "nofree"], in: context)
        instruction.confine(function, in: module, targetFeatures: targetFeatures)
        loops = LoopBuilder(builder: b, function: function)
        lanes = instruction.lanes
        isa = instruction.isa
        let builder = b, context = context
        builder.position(at: builder.appendBlock(function, "entry"))
        let args = IRFunction.parameter(function, 0)
        let fields = (0..<7).map { index in
            builder.load(context.i64, from: builder.byteOffset(args, context.constInt(context.i64, Int64(8 * index))), align: 8)
        }
        x = builder.intToPtr(fields[0], to: bytePointer)
        x2 = builder.intToPtr(fields[1], to: bytePointer)
        y = builder.intToPtr(fields[2], to: bytePointer)
        extra = builder.intToPtr(fields[3], to: bytePointer)
        extraInteger = fields[3]
        extra2Integer = fields[4]
        extra2 = builder.intToPtr(fields[4], to: bytePointer)
        begin = fields[5]
        end = fields[6]
    }

    func const(_ value: Int) -> IRValue { context.constInt(i64, Int64(value)) }
    func math(_ lanes: Int) -> VectorMath { VectorMath(module: module, b: b, lanes: lanes, isa: isa) }

    func finish() { b.retVoid() }

    /// `for i in from..<to` in vectors of `lanes`, then one element at a time:
    /// `body(i, width)` emits `width` elements starting at i.
    func vectorLoop(_ name: String, from: IRValue, to: IRValue, lanes: Int? = nil,
                    _ body: (IRValue, Int) -> Void) {
        let width = lanes ?? self.lanes
        let exit = loops.loop("\(name).v", from: from, step: Int64(width), while: { b.icmp(.sle, b.add($0, const(width)), to) }) { i, _ in
            body(i, width)
            return []
        }
        loops.loop("\(name).s", from: exit.iv, step: 1, while: { b.icmp(.slt, $0, to) }) { i, _ in
            body(i, 1)
            return []
        }
    }

    /// The IR type of one element.
    func irType(_ type: ElementType) -> IRType {
        switch type {
        case .u8, .s8: context.i8
        case .u16, .s16: context.i16
        case .s32: context.i32
        case .f32: context.f32
        }
    }

    /// `width` elements of an integer type at `base + index·size`, widened to i32 lanes.
    func loadInts(_ type: ElementType, _ base: IRValue, _ index: IRValue, width: Int) -> IRValue {
        let pointer = b.byteOffset(base, b.mul(index, const(type.byteSize)))
        let raw = b.load(context.vector(irType(type), width), from: pointer, align: 1)
        let ints = context.vector(context.i32, width)
        if type == .s32 { return raw }
        return type == .s8 || type == .s16 ? b.sext(raw, to: ints) : b.zext(raw, to: ints)
    }

    /// Stores i32 lanes (already in range) as `type` at `base + index·size`.
    func storeInts(_ value: IRValue, _ type: ElementType, _ base: IRValue, _ index: IRValue, width: Int) {
        let pointer = b.byteOffset(base, b.mul(index, const(type.byteSize)))
        let narrow = type == .s32 ? value : b.trunc(value, to: context.vector(irType(type), width))
        b.store(narrow, to: pointer, align: 1)
    }

    func loadFloats(_ base: IRValue, _ index: IRValue, width: Int) -> IRValue {
        b.load(context.vector(context.f32, width), from: b.byteOffset(base, b.mul(index, const(4))), align: 4)
    }

    func storeFloats(_ value: IRValue, _ base: IRValue, _ index: IRValue) {
        b.store(value, to: b.byteOffset(base, b.mul(index, const(4))), align: 4)
    }

    /// The first `count` lanes (an i64 in 0...width) of `width` floats at `base + index·4`, the
    /// others `passThrough`: a masked load, reading nothing past them.
    func loadFloats(_ base: IRValue, _ index: IRValue, width: Int, count: IRValue, passThrough: IRValue) -> IRValue {
        let vector = context.vector(context.f32, width)
        let pointer = b.bitcast(b.byteOffset(base, b.mul(index, const(4))), to: context.pointer(to: vector))
        return module.maskedLoad(b, vector, from: pointer, mask: firstLanes(count, width), passThrough: passThrough, align: 4)
    }

    /// Stores the first `count` lanes (an i64 in 0...width) of `value` at `base + index·4`: a
    /// masked store, writing nothing past them.
    func storeFloats(_ value: IRValue, _ base: IRValue, _ index: IRValue, width: Int, count: IRValue) {
        let pointer = b.bitcast(b.byteOffset(base, b.mul(index, const(4))), to: context.pointer(to: context.vector(context.f32, width)))
        module.maskedStore(b, value, to: pointer, mask: firstLanes(count, width), align: 4)
    }

    /// `<width x i1>`: lane l is set when l < count.
    func firstLanes(_ count: IRValue, _ width: Int) -> IRValue {
        let indices = context.constVector((0..<width).map { context.constInt(i64, Int64($0)) })
        return b.icmp(.slt, indices, b.splat(count, count: width))
    }

    func splat(_ value: IRValue, _ width: Int) -> IRValue { b.splat(value, count: width) }

    /// The lanes of `vector` (`lanes` of them, a power of two) combined by halves — lane l with
    /// lane l + lanes/2, and so on — as `ReferenceOperators.laneOrderedSum` folds its partials.
    func foldHalves(_ vector: IRValue, lanes: Int, _ combine: (IRValue, IRValue) -> IRValue) -> IRValue {
        var folded = vector, width = lanes
        while width > 1 {
            width /= 2
            folded = combine(b.slice(folded, from: 0, count: width), b.slice(folded, from: width, count: width))
        }
        return b.extractElement(folded, 0)
    }
    func splatInt(_ value: Int32, _ width: Int) -> IRValue {
        context.constVector(Array(repeating: context.constInt(context.i32, Int64(value)), count: width))
    }

    /// A private constant array (f32 or i32) in the module.
    func constantArray(_ name: String, floats: [Float]) -> IRValue {
        module.addConstant(name, context.constArray(context.f32, floats.map(context.constFloat)), alignment: 64)
    }
    func constantArray(_ name: String, ints: [Int32]) -> IRValue {
        module.addConstant(name, context.constArray(context.i32, ints.map { context.constInt(context.i32, Int64($0)) }), alignment: 64)
    }

    /// `width` f32 or i32 lanes of a constant array from element `index` (width 1: a scalar
    /// splat-free vector of one).
    func loadArray(_ array: IRValue, _ element: IRType, _ index: IRValue, width: Int) -> IRValue {
        b.load(context.vector(element, width), from: b.byteOffset(array, b.mul(index, const(4))), align: 4)
    }

    /// `sat(RNE(x / scale) + zp)` on f32 lanes, as i32 lanes (QuantizeLinear).
    func quantize(_ x: IRValue, scale: IRValue, zeroPoint: IRValue, range: ClosedRange<Int32>, width: Int) -> IRValue {
        math(width).quantize(x, scale: scale, zeroPoint: zeroPoint, range: range, portable: portable)
    }
}
