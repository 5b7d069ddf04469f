import QuantForge

/// How one linear layer `y = f(x·Wᵀ + b)` runs: f32 (the baseline), or int8 with A quantized per
/// call (dynamic) or with calibrated parameters (static).
public protocol LinearImplementation: AnyObject {
    /// y[rows × outputs] from x[rows × inputs].
    func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>)
    /// Bytes of the weights as this implementation keeps them (packed int8 + f32 bias and scales,
    /// or f32).
    var weightBytes: Int { get }
}

/// The f32 baseline: QuantForge's generated f32 linear kernel (`F32Linear`: weights and bias packed
/// once, bias added in its accumulators), then a JIT-compiled activation pass when there is one.
/// (OpenBLAS repacks the weights on every call, which at a few rows costs more than the products.)
public final class F32LinearImplementation: LinearImplementation {
    let linear: MiniLM.Linear
    let kernel: F32LinearKernel
    let weights: F32LinearWeights
    let activation: BiasActivationKernel?

    public init(_ linear: MiniLM.Linear, activation: Activation, engine: Engine) throws(ModelError) {
        self.linear = linear
        do {
            kernel = try engine.compile(try F32Linear(inputs: linear.inputs, outputs: linear.outputs, hasBias: true))
            weights = try kernel.packWeights(linear.weights, bias: linear.bias)
            self.activation = activation == .none ? nil
                : try engine.compile(try BiasActivation(columns: linear.outputs, bias: nil, activation: activation))
        } catch { throw .quantization(error) }
    }

    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        do {
            try kernel.run(x: x, rows: rows, weights: weights, y: y)
        } catch {
            fatalError("unreachable: the weights were packed by this kernel at init (\(error))")
        }
        activation?.run(x: UnsafePointer(y), y: y, rows: rows)
    }

    public var weightBytes: Int { (linear.weights.count + linear.bias.count) * 4 }
}

/// int8: per-channel symmetric s8 weights packed once; A (f32) quantized to u8 inside the matmul
/// kernel while it packs A — with parameters computed per call (dynamic, per tensor or per row)
/// or fixed by calibration (static) — and bias + activation + dequantization fused into the store.
public final class Int8LinearImplementation: LinearImplementation {
    public enum AQuantization: Sendable {
        case dynamicPerTensor
        case dynamicPerRow
        /// Calibrated u8 parameters of the layer's input.
        case fixed(scale: Float, zeroPoint: Int32)
    }

    let linear: MiniLM.Linear
    public let quantization: AQuantization
    public let weights: QuantizedWeights
    let dynamic: DynamicLinearKernel?
    let matmul: MatMulKernel
    let packed: PackedWeights

    public init(_ linear: MiniLM.Linear, activation: Activation, quantization: AQuantization, engine: Engine,
                weightClipPercentile: Float? = nil) throws(ModelError) {
        self.linear = linear
        self.quantization = quantization
        weights = QuantizedWeights(weights: linear.weights, outputs: linear.outputs, inputs: linear.inputs, clipPercentile: weightClipPercentile)
        let output: MatMulOutput = activation == .none ? .dequantized(.init(bias: linear.bias))
            : .chain(EpilogueChain([.bias(linear.bias), .activation(activation)], output: .dequantize))
        let mode: AQuantMode = if case .dynamicPerRow = quantization { .perRowAtRunTime } else { .perTensorAtRunTime }
        do {
            let op = try MatMul(m: nil, k: linear.inputs, n: linear.outputs, aType: .f32, bType: .s8, bQuant: weights.quantParams,
                                output: output, aQuantMode: mode)
            if case .fixed = quantization {
                dynamic = nil
                matmul = try engine.compile(op)
            } else {
                let kernel = try engine.compileDynamicLinear(op)
                dynamic = kernel
                matmul = kernel.matmul
            }
            packed = try matmul.packWeights(weights.b)
        } catch { throw .quantization(error) }
    }

    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        // The buffers are exactly rows × inputs and rows × outputs, so the kernels' checks pass by
        // construction; no rows, no work.
        guard rows > 0 else { return }
        let a = UnsafeBufferPointer(start: x, count: rows * linear.inputs)
        let c = UnsafeMutableRawBufferPointer(start: y, count: rows * linear.outputs * 4)
        if let dynamic {
            try! dynamic.run(a: a, weights: packed, c: c, m: rows)
            return
        }
        guard case let .fixed(scale, zeroPoint) = quantization else { return }
        withUnsafePointer(to: scale) { scalePointer in
            withUnsafePointer(to: zeroPoint) { zeroPointer in
                var call = try! matmul.compiled.prepareCall(a: UnsafeRawBufferPointer(a), weights: packed, c: c, m: rows)
                call.extras.aScales = scalePointer
                call.extras.aZeroPoints = zeroPointer
                matmul.runPrepared(call)
            }
        }
    }

    /// Packed int8 weights plus the f32 bias and per-channel scales.
    public var weightBytes: Int { packed.byteCount + (linear.bias.count + weights.scales.count) * 4 }
}

/// Weight-only 4-bit (MatMulNBits, block 32, int8 compute): weights quantized per block
/// (`BlockwiseQuantizedWeights`) and packed once; A quantized per block of K inside each call;
/// bias and activation in the kernel's epilogue.
public final class NBitsLinearImplementation: LinearImplementation {
    let kernel: NBitsLinearKernel
    let packed: NBitsWeights
    public let weights: BlockwiseQuantizedWeights

    public init(_ linear: MiniLM.Linear, activation: Activation, asymmetric: Bool, engine: Engine) throws(ModelError) {
        do {
            weights = try BlockwiseQuantizedWeights(weights: linear.weights, outputs: linear.outputs, inputs: linear.inputs,
                                                    asymmetric: asymmetric, hasBias: true, activation: activation)
            kernel = try engine.compile(weights.op)
            packed = try kernel.packWeights(b: weights.b, scales: weights.scales, zeroPoints: weights.zeroPoints, bias: linear.bias)
        } catch { throw .quantization(error) }
    }

    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        do {
            try kernel.run(a: x, rows: rows, weights: packed, y: y)
        } catch {
            fatalError("unreachable: the weights were packed by this kernel at init (\(error))")
        }
    }

    /// The model's bytes (4-bit weights, f32 scales, packed zero points) plus the f32 bias.
    public var weightBytes: Int { weights.op.modelBytes + 4 * weights.op.outputs }
}
