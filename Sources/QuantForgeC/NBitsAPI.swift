import CQuantForgeAPI
import QuantForge

// qf_nbits_*: the weight-only 4/8-bit linear (MatMulNBits) through the C API.

@_cdecl("qf_nbits_compile")
public func qfNBitsCompile(_ context: OpaquePointer?, _ desc: UnsafePointer<qf_nbits_desc>?,
                           _ kernel: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    compileKernel(context, kernel) { engine throws(QuantError) in
        guard let d = desc?.pointee else { throw .invalidArgument(field: "desc", reason: "null pointer") }
        guard d.k >= 1, d.k <= Int64(MatMul.maxDimension), d.n >= 1, d.n <= Int64(MatMul.maxDimension) else {
            throw .invalidShape(field: d.k < 1 || d.k > Int64(MatMul.maxDimension) ? "k" : "n", reason: "k = \(d.k) and n = \(d.n) must be in 1...\(MatMul.maxDimension)")
        }
        func flag(_ value: Int32, _ field: String) throws(QuantError) -> Bool {
            guard value == 0 || value == 1 else { throw .invalidArgument(field: field, reason: "\(value) must be 0 or 1") }
            return value == 1
        }
        let compute: NBitsLinear.Compute
        switch d.compute.rawValue {
        case 0: compute = .int8
        case 1: compute = .f32
        default: throw .invalidArgument(field: "compute", reason: "\(d.compute.rawValue) is not a qf_nbits_compute")
        }
        let op = try NBitsLinear(inputs: Int(d.k), outputs: Int(d.n), bits: Int(d.bits), blockSize: Int(d.block_size),
                                 zeroPoints: try flag(d.has_zero_points, "has_zero_points") ? .perBlock : .midpoint, compute: compute,
                                 hasBias: try flag(d.has_bias, "has_bias"),
                                 activation: try CDescription.activation(d.activation, clampMin: d.clamp_min, clampMax: d.clamp_max, "activation"))
        return .nbits(try engine.compile(op))
    }
}

private func nbitsKernel(_ kernel: OpaquePointer?, _ function: String) throws(QuantError) -> NBitsLinearKernel {
    try KernelHandle.get(kernel, function) { if case let .nbits(k) = $0 { k } else { nil } }
}

@_cdecl("qf_nbits_pack")
public func qfNBitsPack(_ kernel: OpaquePointer?, _ b: UnsafePointer<UInt8>?, _ bBytes: Int, _ scales: UnsafeRawPointer?, _ scalesBytes: Int,
                        _ scalesAreF16: Int32, _ zeroPoints: UnsafePointer<UInt8>?, _ zeroPointsBytes: Int,
                        _ bias: UnsafePointer<Float>?, _ biasBytes: Int, _ weights: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    guard let weights else { return failure(QF_STATUS_INVALID_ARGUMENT, "weights: null output pointer") }
    weights.pointee = nil
    return guarded { () throws(QuantError) in
        let linear = try nbitsKernel(kernel, "qf_nbits_pack")
        let b = try buffer(UnsafeRawPointer(b), bBytes, "b"), s = try buffer(scales, scalesBytes, "scales")
        guard scalesAreF16 == 0 || scalesAreF16 == 1 else {
            throw .invalidArgument(field: "scales_are_f16", reason: "\(scalesAreF16) must be 0 or 1")
        }
        let scaleValues: [Float]
        if scalesAreF16 == 1 {
            guard s.count % 2 == 0 else { throw .invalidShape(field: "scales", reason: "\(s.count) bytes are not whole f16 values") }
            scaleValues = NBitsLinear.scales(fromHalf: (0..<(s.count / 2)).map { s.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self) })
        } else {
            guard s.count % 4 == 0 else { throw .invalidShape(field: "scales", reason: "\(s.count) bytes are not whole f32 values") }
            scaleValues = (0..<(s.count / 4)).map { s.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        }
        let zp = try zeroPoints.map { p throws(QuantError) in Array(try buffer(UnsafeRawPointer(p), zeroPointsBytes, "zero_points")) }
        if bias != nil, biasBytes % 4 != 0 { throw .invalidShape(field: "bias", reason: "\(biasBytes) bytes are not whole floats") }
        let biasValues = try bias.map { p throws(QuantError) in Array(try floats(p, biasBytes, "bias")) }
        let packed = try linear.packWeights(b: Array(b), scales: scaleValues, zeroPoints: zp, bias: biasValues)
        weights.pointee = HandleRegistry.register(WeightsHandle(.nbits(packed)), as: .weights)
    }
}

@_cdecl("qf_nbits_run")
public func qfNBitsRun(_ kernel: OpaquePointer?, _ a: UnsafePointer<Float>?, _ aBytes: Int, _ weights: OpaquePointer?,
                       _ y: UnsafeMutablePointer<Float>?, _ yBytes: Int) -> qf_status {
    guarded { () throws(QuantError) in
        let linear = try nbitsKernel(kernel, "qf_nbits_run")
        let a = try floats(a, aBytes, "a"), y = try mutableFloats(y, yBytes, "y")
        guard case let .nbits(packed) = try HandleRegistry.lookup(weights, .weights, as: WeightsHandle.self).packed else {
            throw .weightsMismatch(reason: "weights packed for another operator were passed to qf_nbits_run")
        }
        let k = linear.op.inputs, n = linear.op.outputs
        guard aBytes % (4 * k) == 0 else { throw .invalidShape(field: "a", reason: "\(aBytes) bytes are not whole rows of \(k) floats") }
        let rows = aBytes / (4 * k)
        guard rows <= MatMul.maxDimension else { throw .invalidShape(field: "a", reason: "\(rows) rows exceed \(MatMul.maxDimension)") }
        guard y.count >= rows * n else { throw .bufferTooSmall(field: "y", requiredBytes: 4 * rows * n, actualBytes: yBytes) }
        guard rows > 0 else { return }
        try linear.run(a: a.baseAddress!, rows: rows, weights: packed, y: y.baseAddress!)
    }
}
