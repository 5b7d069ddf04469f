import QuantCodegen

/// Checks that a caller's buffer holds `count` elements of `type`.
func checkBuffer(_ field: String, bytes: Int, count: Int, type: ElementType) throws(QuantError) {
    let required = count * type.byteSize
    if bytes < required { throw .bufferTooSmall(field: field, requiredBytes: required, actualBytes: bytes) }
}

/// A compiled QuantizeLinear: f32 in, the quantized type out, the whole tensor per call.
public final class QuantizeKernel: Sendable {
    public let op: QuantizeLinear
    public let compiled: CompiledElementwiseKernel

    init(op: QuantizeLinear, compiled: CompiledElementwiseKernel) {
        self.op = op
        self.compiled = compiled
    }

    /// Quantizes `x` (the op's element count of f32) into `y` (as many elements of the op's type).
    public func run(x: UnsafeBufferPointer<Float>, y: UnsafeMutableRawBufferPointer) throws(QuantError) {
        let count = op.quantization.count
        try checkBuffer("x", bytes: x.count * 4, count: count, type: .f32)
        try checkBuffer("y", bytes: y.count, count: count, type: op.quantization.type)
        compiled.callUnchecked(x: UnsafeRawPointer(x.baseAddress), y: y.baseAddress)
    }

    public func run(_ x: [Float]) throws(QuantError) -> [UInt8] {
        try checkBuffer("x", bytes: x.count * 4, count: op.quantization.count, type: .f32)
        var y = [UInt8](repeating: 0, count: op.quantization.count * op.quantization.type.byteSize)
        x.withUnsafeBytes { x in y.withUnsafeMutableBytes { compiled.callUnchecked(x: x.baseAddress, y: $0.baseAddress) } }
        return y
    }
}

/// A compiled FakeQuantize (QAT forward): f32 in; f32 out and the gradient mask.
public final class FakeQuantizeKernel: Sendable {
    public let op: FakeQuantize
    public let compiled: CompiledElementwiseKernel

    init(op: FakeQuantize, compiled: CompiledElementwiseKernel) {
        self.op = op
        self.compiled = compiled
    }

    /// y (f32) and mask (one byte per element, 1 = the gradient passes) from x.
    public func run(x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>, mask: UnsafeMutableRawBufferPointer) throws(QuantError) {
        let count = op.quantization.count
        try checkBuffer("x", bytes: x.count * 4, count: count, type: .f32)
        try checkBuffer("y", bytes: y.count * 4, count: count, type: .f32)
        try checkBuffer("mask", bytes: mask.count, count: count, type: .u8)
        compiled.callUnchecked(x: UnsafeRawPointer(x.baseAddress), y: UnsafeMutableRawPointer(y.baseAddress), extra: mask.baseAddress)
    }

    public func run(_ x: [Float]) throws(QuantError) -> (y: [Float], mask: [UInt8]) {
        try checkBuffer("x", bytes: x.count * 4, count: op.quantization.count, type: .f32)
        var y = [Float](repeating: 0, count: op.quantization.count), mask = [UInt8](repeating: 0, count: op.quantization.count)
        x.withUnsafeBytes { x in
            y.withUnsafeMutableBytes { y in mask.withUnsafeMutableBytes { compiled.callUnchecked(x: x.baseAddress, y: y.baseAddress, extra: $0.baseAddress) } }
        }
        return (y, mask)
    }
}

/// A compiled DequantizeLinear: the quantized type in, f32 out.
public final class DequantizeKernel: Sendable {
    public let op: DequantizeLinear
    public let compiled: CompiledElementwiseKernel

    init(op: DequantizeLinear, compiled: CompiledElementwiseKernel) {
        self.op = op
        self.compiled = compiled
    }

    public func run(x: UnsafeRawBufferPointer, y: UnsafeMutableBufferPointer<Float>) throws(QuantError) {
        let count = op.quantization.count
        try checkBuffer("x", bytes: x.count, count: count, type: op.quantization.type)
        try checkBuffer("y", bytes: y.count * 4, count: count, type: .f32)
        compiled.callUnchecked(x: x.baseAddress, y: UnsafeMutableRawPointer(y.baseAddress))
    }

    public func run(_ x: [UInt8]) throws(QuantError) -> [Float] {
        try checkBuffer("x", bytes: x.count, count: op.quantization.count, type: op.quantization.type)
        var y = [Float](repeating: 0, count: op.quantization.count)
        x.withUnsafeBytes { x in y.withUnsafeMutableBytes { compiled.callUnchecked(x: x.baseAddress, y: $0.baseAddress) } }
        return y
    }
}

/// A compiled DynamicQuantizeLinear (per tensor or per row): f32 in; u8 out with the scales and
/// zero points it chose.
public final class DynamicQuantizeKernel: Sendable {
    public let op: DynamicQuantizeLinear
    public let compiled: CompiledElementwiseKernel

    init(op: DynamicQuantizeLinear, compiled: CompiledElementwiseKernel) {
        self.op = op
        self.compiled = compiled
    }

    /// Parameter pairs the kernel produces: one, or one per row.
    public var parameterCount: Int { op.perRow ? op.rows : 1 }

    /// Quantizes `x` into `y`; `scales` and `zeroPoints` receive the parameters (one, or one per row).
    public func run(x: UnsafeBufferPointer<Float>, y: UnsafeMutableRawBufferPointer, scales: UnsafeMutableBufferPointer<Float>,
                    zeroPoints: UnsafeMutableBufferPointer<Int32>) throws(QuantError) {
        let count = op.rows * op.columns
        try checkBuffer("x", bytes: x.count * 4, count: count, type: .f32)
        try checkBuffer("y", bytes: y.count, count: count, type: .u8)
        try checkBuffer("scales", bytes: scales.count * 4, count: parameterCount, type: .f32)
        try checkBuffer("zero points", bytes: zeroPoints.count * 4, count: parameterCount, type: .s32)
        compiled.callUnchecked(x: UnsafeRawPointer(x.baseAddress), y: y.baseAddress, extra: UnsafeMutableRawPointer(scales.baseAddress),
                               extra2: UnsafeMutableRawPointer(zeroPoints.baseAddress), begin: 0, end: op.rows)
    }

    public func run(_ x: [Float]) throws(QuantError) -> (y: [UInt8], scales: [Float], zeroPoints: [Int32]) {
        try checkBuffer("x", bytes: x.count * 4, count: op.rows * op.columns, type: .f32)
        var y = [UInt8](repeating: 0, count: op.rows * op.columns)
        var scales = [Float](repeating: 0, count: parameterCount), zeroPoints = [Int32](repeating: 0, count: parameterCount)
        x.withUnsafeBytes { x in
            y.withUnsafeMutableBytes { y in
                scales.withUnsafeMutableBytes { scales in
                    zeroPoints.withUnsafeMutableBytes {
                        compiled.callUnchecked(x: x.baseAddress, y: y.baseAddress, extra: scales.baseAddress, extra2: $0.baseAddress,
                                               begin: 0, end: op.rows)
                    }
                }
            }
        }
        return (y, scales, zeroPoints)
    }
}

/// A compiled QLinearAdd / QLinearMul with broadcasting.
public final class BinaryKernel: Sendable {
    public let op: QLinearBinary
    public let compiled: CompiledElementwiseKernel

    init(op: QLinearBinary, compiled: CompiledElementwiseKernel) {
        self.op = op
        self.compiled = compiled
    }

    public func run(a: UnsafeRawBufferPointer, b: UnsafeRawBufferPointer, y: UnsafeMutableRawBufferPointer) throws(QuantError) {
        try checkBuffer("A", bytes: a.count, count: op.aShape.reduce(1, *), type: op.type)
        try checkBuffer("B", bytes: b.count, count: op.bShape.reduce(1, *), type: op.type)
        try checkBuffer("Y", bytes: y.count, count: op.count, type: op.type)
        compiled.callUnchecked(x: a.baseAddress, x2: b.baseAddress, y: y.baseAddress)
    }

    public func run(a: [UInt8], b: [UInt8]) throws(QuantError) -> [UInt8] {
        try checkBuffer("A", bytes: a.count, count: op.aShape.reduce(1, *), type: op.type)
        try checkBuffer("B", bytes: b.count, count: op.bShape.reduce(1, *), type: op.type)
        var y = [UInt8](repeating: 0, count: op.count)
        a.withUnsafeBytes { a in
            b.withUnsafeBytes { b in y.withUnsafeMutableBytes { compiled.callUnchecked(x: a.baseAddress, x2: b.baseAddress, y: $0.baseAddress) } }
        }
        return y
    }
}

/// A compiled 256-entry lookup activation on a quantized tensor.
public final class LookupKernel: Sendable {
    public let op: QuantizedLookup
    public let compiled: CompiledElementwiseKernel

    init(op: QuantizedLookup, compiled: CompiledElementwiseKernel) {
        self.op = op
        self.compiled = compiled
    }

    public func run(x: UnsafeRawBufferPointer, y: UnsafeMutableRawBufferPointer) throws(QuantError) {
        try checkBuffer("X", bytes: x.count, count: op.count, type: op.inputType)
        try checkBuffer("Y", bytes: y.count, count: op.count, type: op.outputType)
        compiled.callUnchecked(x: x.baseAddress, y: y.baseAddress, begin: 0, end: op.count)
    }

    public func run(_ x: [UInt8]) throws(QuantError) -> [UInt8] {
        try checkBuffer("X", bytes: x.count, count: op.count, type: op.inputType)
        var y = [UInt8](repeating: 0, count: op.count)
        x.withUnsafeBytes { x in y.withUnsafeMutableBytes { compiled.callUnchecked(x: x.baseAddress, y: $0.baseAddress, begin: 0, end: op.count) } }
        return y
    }
}

/// A compiled `BiasActivation` on f32 rows (in place when x and y are the same buffer).
public final class BiasActivationKernel: Sendable {
    public let op: BiasActivation
    public let compiled: CompiledElementwiseKernel

    init(op: BiasActivation, compiled: CompiledElementwiseKernel) {
        self.op = op
        self.compiled = compiled
    }

    /// `rows` rows of `op.columns` floats from x into y (the same pointer is allowed).
    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int) {
        compiled.callUnchecked(x: UnsafeRawPointer(x), y: UnsafeMutableRawPointer(y), begin: 0, end: rows)
    }

    public func run(_ x: [Float]) throws(QuantError) -> [Float] {
        if x.count % op.columns != 0 {
            throw .invalidShape(field: "x", reason: "\(x.count) values are not whole rows of \(op.columns)")
        }
        var y = x
        y.withUnsafeMutableBufferPointer { run(x: UnsafePointer($0.baseAddress!), y: $0.baseAddress!, rows: x.count / op.columns) }
        return y
    }
}

extension Engine {
    /// Compiles one operator kernel (not a matmul) for this engine's ISA, through its kernel cache.
    func compileKernel(_ kernel: OperatorKernel) throws(QuantError) -> CompiledElementwiseKernel {
        try kernelCache.kernel(kernel, isa: isa) { () throws(QuantError) in try KernelCompiler.shared().compile(kernel, isa: isa) }
    }

    public func compile(_ op: BiasActivation) throws(QuantError) -> BiasActivationKernel {
        BiasActivationKernel(op: op, compiled: try compileKernel(.biasActivation(op)))
    }

    public func compile(_ op: QuantizeLinear) throws(QuantError) -> QuantizeKernel {
        QuantizeKernel(op: op, compiled: try compileKernel(.quantize(op)))
    }

    public func compile(_ op: FakeQuantize) throws(QuantError) -> FakeQuantizeKernel {
        FakeQuantizeKernel(op: op, compiled: try compileKernel(.fakeQuantize(op)))
    }

    public func compile(_ op: DequantizeLinear) throws(QuantError) -> DequantizeKernel {
        DequantizeKernel(op: op, compiled: try compileKernel(.dequantize(op)))
    }

    public func compile(_ op: DynamicQuantizeLinear) throws(QuantError) -> DynamicQuantizeKernel {
        DynamicQuantizeKernel(op: op, compiled: try compileKernel(.dynamicQuantize(op, parametersOnly: false)))
    }

    public func compile(_ op: QLinearBinary) throws(QuantError) -> BinaryKernel {
        BinaryKernel(op: op, compiled: try compileKernel(.binary(op)))
    }

    public func compile(_ op: QuantizedLookup) throws(QuantError) -> LookupKernel {
        LookupKernel(op: op, compiled: try compileKernel(.lookup(op)))
    }
}
