import QuantCodegen
import QuantRuntime

/// A convolution's weights packed once (ONNX [OC, C/g, KH, KW] in): one packed B per group, or
/// the depthwise kernel's taps.
public final class ConvWeights: Sendable {
    public let groups: [PackedWeights]
    public let depthwise: DepthwiseWeights?
    init(groups: [PackedWeights], depthwise: DepthwiseWeights? = nil) {
        self.groups = groups
        self.depthwise = depthwise
    }

    /// Bytes held by the packed weights.
    public var byteCount: Int {
        groups.reduce(0) { $0 + $1.byteCount } + (depthwise?.count ?? 0) * MemoryLayout<Int32>.size
    }
}

/// A compiled 2-D convolution (ConvInteger / QLinearConv / any matmul output mode). NHWC runs as
/// an implicit GEMM per group — the matmul microkernels with each row block's windows gathered
/// from the input (1×1 convolutions read the input directly) — or, for depthwise convolutions, on
/// their own microkernel; NCHW is transposed to NHWC and back by generated kernels. Thread-safe.
public final class ConvKernel: Sendable {
    public let op: Conv2D
    /// One GEMM kernel per group (identical groups share machine code); empty when depthwise.
    public let groupKernels: [CompiledMatMulKernel]
    /// The depthwise microkernel, when the convolution has one channel per group.
    public let depthwiseKernel: CompiledElementwiseKernel?
    private let toNHWC: CompiledElementwiseKernel?
    private let toNCHW: CompiledElementwiseKernel?
    private let pool: ThreadPool?
    /// What depthwise weights must have been packed for (computed once: `run` checks it every call).
    private let depthwiseSignature: String?

    init(op: Conv2D, groupKernels: [CompiledMatMulKernel], depthwiseKernel: CompiledElementwiseKernel?,
         toNHWC: CompiledElementwiseKernel?, toNCHW: CompiledElementwiseKernel?, pool: ThreadPool?) {
        self.op = op
        self.groupKernels = groupKernels
        self.depthwiseKernel = depthwiseKernel
        self.toNHWC = toNHWC
        self.toNCHW = toNCHW
        self.pool = pool
        depthwiseSignature = depthwiseKernel.map { DepthwiseWeights.packingSignature(op, isa: $0.instruction.isa) }
    }

    /// The GEMM schedule (nil for the depthwise microkernel).
    public var schedule: MatMulSchedule? { groupKernels.first?.schedule }

    /// What runs: "implicit GEMM <schedule>" or "depthwise <isa>".
    public var implementation: String {
        if let depthwiseKernel { return "depthwise \(depthwiseKernel.instruction.isa)" }
        return (op.isPointwise ? "GEMM " : "implicit GEMM ") + (schedule?.description ?? "")
    }

    /// Packs ONNX-layout weights [OC, C/groups, KH, KW] for this kernel.
    public func packWeights(_ w: [UInt8]) throws(QuantError) -> ConvWeights {
        if w.count < op.weightElements {
            throw .bufferTooSmall(field: "W", requiredBytes: op.weightElements, actualBytes: w.count)
        }
        if let depthwiseKernel {
            return ConvWeights(groups: [], depthwise: try DepthwiseWeights(op, w: w, isa: depthwiseKernel.instruction.isa))
        }
        var packed: [PackedWeights] = []
        for g in 0..<op.groups {
            let b = op.gemmWeights(w, group: g)
            packed.append(try QuantError.rethrowing { try b.withUnsafeBytes { try groupKernels[g].packWeights($0) } })
        }
        return ConvWeights(groups: packed)
    }

    /// Runs the convolution: `x` in the op's layout and input type, `y` in its layout and output
    /// type, `residual` (NHWC, the output's shape, the chain's type) when the epilogue chain adds
    /// one. Every size and the weights are checked first.
    public func run(x: UnsafeRawBufferPointer, weights: ConvWeights, y: UnsafeMutableRawBufferPointer,
                    residual: UnsafeRawBufferPointer? = nil) throws(QuantError) {
        let outputType = op.output.elementType
        try checkBuffer("X", bytes: x.count, count: op.inputElements, type: op.xType)
        try checkBuffer("Y", bytes: y.count, count: op.outputElements, type: outputType)
        let matches = if let depthwiseSignature {
            weights.depthwise?.signature == depthwiseSignature
        } else {
            weights.groups.count == op.groups && zip(weights.groups, groupKernels).allSatisfy { $0.signature == $1.weightSignature }
        }
        if !matches {
            throw .weightsMismatch(reason: "the weights were packed for another convolution")
        }
        var extras = CompiledMatMulKernel.CallExtras()
        if case let .chain(chain) = op.output, let type = chain.residual?.type {
            guard let residual else { throw .bufferTooSmall(field: "residual", requiredBytes: op.outputElements, actualBytes: 0) }
            try checkBuffer("residual", bytes: residual.count, count: op.outputElements, type: type)
            extras.residual = residual.baseAddress
            extras.ldResidual = op.outChannels
        } else if residual != nil {
            throw .invalidEpilogue(field: "residual", reason: "this convolution's output has no residual add")
        }
        guard let xBase = x.baseAddress, let yBase = y.baseAddress else { return }
        let size = outputType.byteSize
        if op.layout == .nhwc {
            runGroups(x: xBase, weights: weights, y: yBase, extras: extras)
            return
        }
        // NCHW: per image, channels × pixels becomes pixels × channels, and back.
        let input = UnsafeMutableRawPointer.allocate(byteCount: op.inputElements, alignment: 64)
        let output = UnsafeMutableRawPointer.allocate(byteCount: op.outputElements * size, alignment: 64)
        defer {
            input.deallocate()
            output.deallocate()
        }
        toNHWC!.callUnchecked(x: xBase, y: input)
        runGroups(x: UnsafeRawPointer(input), weights: weights, y: output, extras: extras)
        toNCHW!.callUnchecked(x: UnsafeRawPointer(output), y: yBase)
    }

    /// Each group's GEMM on NHWC buffers: A starts at the group's first input channel (its windows
    /// gathered by the kernel), C at its first output channel, rows N·OH·OW.
    private func runGroups(x: UnsafeRawPointer, weights: ConvWeights, y: UnsafeMutableRawPointer, extras: CompiledMatMulKernel.CallExtras) {
        if let depthwiseKernel, let depthwise = weights.depthwise {
            runDepthwise(depthwiseKernel, x: x, weights: depthwise, y: y, residual: extras.residual)
            return
        }
        let size = op.output.elementType.byteSize
        for (g, kernel) in groupKernels.enumerated() {
            var groupExtras = extras
            groupExtras.residual = extras.residual.map { $0 + g * op.groupOutChannels }
            ParallelMatMul.run(kernel, a: x + g * op.groupInChannels, lda: op.inChannels, weights: UnsafeRawPointer(weights.groups[g].bytes),
                               c: y + g * op.groupOutChannels * size, ldc: op.outChannels, m: op.gemmRows, pool: pool, extras: groupExtras)
        }
    }

    /// The depthwise microkernel over output pixels, split across the pool's threads.
    private func runDepthwise(_ kernel: CompiledElementwiseKernel, x: UnsafeRawPointer, weights: DepthwiseWeights,
                              y: UnsafeMutableRawPointer, residual: UnsafeRawPointer?) {
        kernel.callSplitting(op.gemmRows, on: pool, x: x, x2: UnsafeRawPointer(weights.bytes), y: y,
                             extra: UnsafeMutableRawPointer(mutating: residual))
    }

    /// Runs on arrays; returns Y's bytes.
    public func run(x: [UInt8], weights: ConvWeights, residual: [UInt8]? = nil) throws(QuantError) -> [UInt8] {
        var y = [UInt8](repeating: 0, count: op.outputElements * op.output.elementType.byteSize)
        try QuantError.rethrowing {
            try x.withUnsafeBytes { x in
                try y.withUnsafeMutableBytes { y in
                    if let residual {
                        try residual.withUnsafeBytes { try run(x: x, weights: weights, y: y, residual: $0) }
                    } else {
                        try run(x: x, weights: weights, y: y)
                    }
                }
            }
        }
        return y
    }
}

extension Engine {
    /// The schedule of a convolution's GEMM: the one tuned for its M×K×N GEMM when the database
    /// has it (`qforge autotune --conv`), else the matmul default; row blocks are kept small enough
    /// for the gathered windows (K bytes per row) to stay on the kernel's stack.
    public func defaultSchedule(for conv: Conv2D) throws(QuantError) -> MatMulSchedule {
        let gemm = try DefaultSchedule.representativeGroup(conv, isa: isa)
        if let tuned = tunedSchedule(for: gemm) { return DefaultSchedule.forConvolution(conv, base: tuned) }
        return DefaultSchedule.forConvolution(conv, base: try defaultSchedule(for: gemm))
    }

    /// Compiles a convolution: one GEMM kernel per group (with `schedule`, else the default), plus
    /// the NCHW ↔ NHWC transposes when the op is NCHW.
    /// Depthwise convolutions (one channel per group) get their own microkernel unless a GEMM
    /// `schedule` is given.
    public func compile(_ conv: Conv2D, schedule: MatMulSchedule? = nil) throws(QuantError) -> ConvKernel {
        if conv.isDepthwise && schedule == nil {
            let kernel = try compileKernel(.depthwise(conv))
            return ConvKernel(op: conv, groupKernels: [], depthwiseKernel: kernel, toNHWC: try transposes(conv).toNHWC,
                              toNCHW: try transposes(conv).toNCHW, pool: pool)
        }
        let chosen: MatMulSchedule
        if let schedule { chosen = schedule } else { chosen = try defaultSchedule(for: conv) }
        try host.require(chosen.isa)
        // 1×1 convolutions with stride 1 and no padding read NHWC rows directly.
        let geometry = conv.isPointwise ? nil : ConvolutionGeometry(conv)
        var kernels: [CompiledMatMulKernel] = []
        for g in 0..<conv.groups {
            let gemm = try conv.groupMatMul(g)
            kernels.append(try kernelCache.kernel(gemm, chosen, convolution: geometry) { () throws(QuantError) in
                try KernelCompiler.shared().compileMatMul(gemm, schedule: chosen, convolution: geometry)
            })
        }
        let (toNHWC, toNCHW) = try transposes(conv)
        return ConvKernel(op: conv, groupKernels: kernels, depthwiseKernel: nil, toNHWC: toNHWC, toNCHW: toNCHW, pool: pool)
    }

    /// The NCHW → NHWC and NHWC → NCHW transposes of an NCHW convolution (nil for NHWC).
    private func transposes(_ conv: Conv2D) throws(QuantError) -> (toNHWC: CompiledElementwiseKernel?, toNCHW: CompiledElementwiseKernel?) {
        guard conv.layout == .nchw else { return (nil, nil) }
        return (try compileKernel(.transpose(batch: conv.batch, rows: conv.inChannels, columns: conv.height * conv.width,
                                             elementBytes: conv.xType.byteSize)),
                try compileKernel(.transpose(batch: conv.batch, rows: conv.outputHeight * conv.outputWidth, columns: conv.outChannels,
                                             elementBytes: conv.output.elementType.byteSize)))
    }
}
