import LLVMKit
import QuantOps
import QuantSchedule

/// What both `QuantizedAttention` kernels share: the call's `AttentionScratch` header (`extra`),
/// each head's scratch region (in `scratch`: the first kernel's y, the second's x2), and the
/// per-token symmetric int8 quantization of step 1 (`ReferenceOperators.quantizeRowPerBlock`
/// with one block of d).
struct AttentionEmission {
    let op: QuantizedAttention
    let f: ElementwiseFunction
    let instruction: DotInstruction
    /// The scratch regions' base.
    let scratch: IRValue
    /// The table's dot product (K and V, the B operands, are s8).
    let dot: DotEmitter
    /// Columns of V's B layout: d rounded up to the instruction's columns per vector.
    let valueColumns: Int
    /// Vectors of `width` f32 per token block of d (16, 8 or 4: the largest that divides d).
    let width: Int
    /// The header's fields, loaded once in the entry block (stores through the kernel's pointers
    /// could alias the header as far as LLVM knows, so loads inside the loops would repeat).
    private let fields: [IRValue]

    /// Emitted at the function's start: loads the header.
    init(_ op: QuantizedAttention, _ f: ElementwiseFunction, instruction: DotInstruction, scratch: IRValue) throws {
        self.op = op
        self.f = f
        self.instruction = instruction
        self.scratch = scratch
        dot = try DotEmitters.make(instruction, module: f.module, bSigned: true)
        let columns = instruction.columnsPerVector
        valueColumns = (op.headSize + columns - 1) / columns * columns
        width = [16, 8, 4].first { op.headSize % $0 == 0 }!
        fields = AttentionScratch.Field.allCases.map { field in
            f.b.load(f.context.i64, from: f.b.byteOffset(f.extra, f.const(8 * field.rawValue)), align: 8)
        }
    }

    var b: IRBuilder { f.b }
    var context: Context { f.context }

    /// The header field `field` (an i64).
    func field(_ field: AttentionScratch.Field) -> IRValue { fields[field.rawValue] }

    /// Head `head`'s scratch region.
    func region(_ head: IRValue) -> IRValue { b.byteOffset(scratch, b.mul(head, field(.headBytes))) }

    /// Whether an A operand of signedness `signed` is flipped (xor 0x80) into the instruction's domain.
    func flips(aSigned signed: Bool) -> Bool {
        switch instruction.aDomain {
        case .unsigned8: signed
        case .signed8: !signed
        case .native: false
        }
    }

    /// The d f32 values at `source` quantized per token: `codes` as i32 vectors of `width`, and
    /// the scale `amax/127` (f32).
    func quantizeToken(_ source: IRValue) -> (codes: [IRValue], scale: IRValue) {
        let floats = context.vector(context.f32, width)
        let fabs = try! f.module.intrinsic("llvm.fabs", overloads: [floats])
        let values = (0..<(op.headSize / width)).map { v in b.load(floats, from: b.byteOffset(source, f.const(4 * v * width)), align: 4) }
        // amax: compare-and-select (NaN never wins), as the reference's loop.
        var amax = f.splat(context.constFloat(0), width)
        for value in values {
            let magnitude = b.call(fabs.function, type: fabs.type, [value])
            amax = b.select(b.fcmp(.ogt, magnitude, amax), magnitude, amax)
        }
        let maximum = f.foldHalves(amax, lanes: width) { x, y in b.select(b.fcmp(.ogt, y, x), y, x) }
        let scale = b.fdiv(maximum, context.constFloat(127))
        let inverse = b.select(b.fcmp(.one, maximum, context.constFloat(0)), b.fdiv(context.constFloat(127), maximum), context.constFloat(0))
        let math = f.math(width)
        let lower = f.splat(context.constFloat(-127), width), upper = f.splat(context.constFloat(127), width)
        let codes = values.map { value in
            math.saturatingRound(b.fmul(value, f.splat(inverse, width)), zeroPoint: f.splatInt(0, width), lowerMinusZero: lower,
                                 upperMinusZero: upper, portable: f.portable)
        }
        return (codes, scale)
    }

    /// Σ of the lanes of i32 vectors.
    func sum(_ vectors: [IRValue]) -> IRValue {
        f.foldHalves(vectors.dropFirst().reduce(vectors[0]) { b.add($0, $1) }, lanes: width) { b.add($0, $1) }
    }
}
