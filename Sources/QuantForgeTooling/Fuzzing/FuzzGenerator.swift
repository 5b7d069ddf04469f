import Foundation
import QuantCodegen
import QuantForge

/// Draws random fuzzing cases from the whole DSL: matmuls in every output mode (epilogue chains,
/// run-time A, the dynamic linear), convolutions with random geometry (depthwise included), the
/// elementwise operators — with tails in every dimension, extreme quantization parameters
/// (zero points at the type's bounds, tiny and large scales) and random valid schedules.
public struct FuzzGenerator {
    var random: SeededGenerator
    public let isas: [ISA]

    public init(seed: UInt64, isas: [ISA]) {
        random = SeededGenerator(seed: seed)
        self.isas = isas
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random.next() % UInt64(range.count)) }
    mutating func bool() -> Bool { random.next() & 1 == 0 }
    mutating func float(_ range: ClosedRange<Float>) -> Float {
        range.lowerBound + Float(random.next() >> 40) / Float(1 << 24) * (range.upperBound - range.lowerBound)
    }
    mutating func pick<T>(_ values: [T]) -> T { values[int(0...(values.count - 1))] }

    /// A dimension with tails: small, around vector widths, or occasionally large.
    mutating func dimension(_ maximum: Int) -> Int {
        switch int(0...9) {
        case 0: return 1
        case 1, 2: return min(maximum, pick([15, 16, 17, 31, 33, 63, 65]))
        case 3: return min(maximum, int(100...max(100, maximum)))
        default: return int(1...min(maximum, 48))
        }
    }

    mutating func zeroPoint(_ type: ElementType) -> Int32 {
        let range = type.integerRange!
        switch int(0...4) {
        case 0: return range.lowerBound
        case 1: return range.upperBound
        case 2: return type == .s8 || type == .s16 ? 0 : (range.lowerBound + range.upperBound + 1) / 2
        default: return Int32(int(Int(range.lowerBound)...Int(range.upperBound)))
        }
    }

    mutating func scale() -> Float { pick([0.0001, 0.001, 0.01, 0.05, 0.3, 2, 40]) * float(0.5...1.5) }

    mutating func activation(general: Bool) -> Activation {
        let simple: [Activation] = [.none, .relu, .clamp(min: -float(0...3), max: float(0...3))]
        return general ? pick(simple + [.gelu, .sigmoid, .tanh]) : pick(simple)
    }

    mutating func output(n: Int, k: Int, aScale: Float, bScale: Float, allowRequantized: Bool) -> MatMulOutput {
        // The output scale that spreads accumulators over the u8/s8 range.
        let spread = max(aScale * bScale * 128 * 128 * Float(k).squareRoot() / 200, 1e-7)
        switch int(0...3) {
        case 0: return .int32
        case 1 where allowRequantized:
            let type: ElementType = bool() ? .u8 : .s8
            return .requantized(.init(type: type, output: .perTensor(scale: spread, zeroPoint: zeroPoint(type)),
                                      bias: bool() ? (0..<n).map { _ in Int32(int(-100_000...100_000)) } : nil, activation: activation(general: false)))
        case 2: return .dequantized(.init(bias: bool() ? (0..<n).map { _ in float(-3...3) } : nil, activation: activation(general: false)))
        default:
            var steps: [EpilogueChain.Step] = []
            for _ in 0..<int(0...3) {
                switch int(0...3) {
                case 0: steps.append(.bias(bool() ? [float(-1...1)] : (0..<n).map { _ in float(-1...1) }))
                case 1: steps.append(.scale(bool() ? [float(0.2...3)] : (0..<n).map { _ in float(0.2...3) }))
                case 2: steps.append(.activation(activation(general: true)))
                default:
                    if steps.contains(where: { if case .residualAdd = $0 { true } else { false } }) { continue }
                    let type: ElementType = bool() ? .u8 : .s8
                    steps.append(.residualAdd(type: type, quant: .perTensor(scale: float(0.001...0.1), zeroPoint: zeroPoint(type))))
                }
            }
            let type: ElementType = bool() ? .u8 : .s8
            return .chain(EpilogueChain(steps, output: bool() ? .dequantize : .requantize(type: type, quant: .perTensor(scale: float(0.005...0.1), zeroPoint: zeroPoint(type)))))
        }
    }

    /// A random schedule of the op's space on `isa` (nil: the default), kept only if it validates.
    mutating func schedule(for op: MatMul, isa: ISA) -> MatMulSchedule? {
        guard bool(), let instruction = try? InstructionTable.instruction(for: isa) else { return nil }
        let step = instruction.vectorsPerOutput
        // Tile instructions: a partial row tile, or 1-3 whole ones (the blocks their schedules allow).
        let tileRows = instruction.rowsPerInstruction
        let rows = instruction.usesTiles ? pick([int(1...tileRows), tileRows, 2 * tileRows, 3 * tileRows]) : int(1...min(16, op.m ?? 16))
        let schedule = MatMulSchedule(isa: isa, rowsPerTile: rows, vectorsPerRow: step * int(1...max(1, 8 / step)), kUnroll: pick([1, 2, 4, 8]),
                                      rowBlock: rows * pick([1, 2, 4, 16, 1 << 12]), panelBlock: pick([1, 3, 16, 1 << 20]),
                                      loopOrder: bool() ? .panelsOuter : .rowsOuter)
        return (try? MatMulPlan(op: op, schedule: schedule)) != nil ? schedule : nil
    }

    /// The next case, on one of `isas` or on `isa` when given; `accept` rejects operators to draw again.
    public mutating func next(isa: ISA? = nil, accept: (FuzzCase) -> Bool = { _ in true }) -> FuzzCase {
        let isa = isa ?? pick(isas)
        let seed = random.next()
        while true {
            guard let op = try? nextOperator(isa: isa) else { continue }
            let drawn = FuzzCase(op: op.0, isa: isa, schedule: op.1, inputSeed: seed)
            if accept(drawn) { return drawn }
        }
    }

    mutating func nextOperator(isa: ISA) throws -> (FuzzCase.Operator, MatMulSchedule?) {
        switch int(0...24) {
        case 0...6:  // matmul
            let k = dimension(2000), n = dimension(200), m = dimension(64)
            let dynamicLinear = int(0...4) == 0, runTime = dynamicLinear || int(0...5) == 0
            let aType: ElementType = dynamicLinear ? .f32 : (runTime ? .u8 : (bool() ? .u8 : .s8))
            let bType: ElementType = dynamicLinear ? .s8 : (bool() ? .u8 : .s8)
            let aQuant: QuantParams = runTime ? .perTensor(scale: 1) : .perTensor(scale: scale(), zeroPoint: zeroPoint(aType))
            let perChannel = bool()
            let bQuant: QuantParams = perChannel
                ? .perChannel(scales: (0..<n).map { _ in scale() }, zeroPoints: (0..<n).map { _ in bool() ? 0 : zeroPoint(bType) })
                : .perTensor(scale: scale(), zeroPoint: bool() ? 0 : zeroPoint(bType))
            let output = self.output(n: n, k: k, aScale: aQuant.scales[0], bScale: bQuant.scales[0], allowRequantized: !runTime)
            let op = try MatMul(m: bool() ? m : nil, k: k, n: n, aType: aType, bType: bType, aQuant: aQuant, bQuant: bQuant, output: output,
                                aQuantMode: runTime ? (bool() ? .perTensorAtRunTime : .perRowAtRunTime) : .constant)
            return (.matmul(op, m: m), schedule(for: op, isa: isa))
        case 7...10:  // convolution
            let depthwise = int(0...3) == 0
            let groups = depthwise ? int(2...40) : pick([1, 1, 1, 2, 3])
            let cg = depthwise ? 1 : int(1...12), ocg = depthwise ? 1 : int(1...24)
            let kernel = (int(1...5), int(1...5)), dilations = [int(1...2), int(1...2)]
            let pads = (0..<4).map { i in int(0...((i % 2 == 0 ? kernel.0 : kernel.1) - 1) * dilations[i % 2]) }
            let xType: ElementType = bool() ? .u8 : .s8, wType: ElementType = bool() ? .s8 : .u8
            let oc = groups * ocg
            let xQuant = QuantParams.perTensor(scale: scale(), zeroPoint: zeroPoint(xType))
            let wQuant: QuantParams = bool() ? .perChannel(scales: (0..<oc).map { _ in scale() }, zeroPoints: (0..<oc).map { _ in zeroPoint(wType) })
                : .perTensor(scale: scale(), zeroPoint: zeroPoint(wType))
            let layout: Conv2D.Layout = bool() ? .nhwc : .nchw
            var output = self.output(n: oc, k: kernel.0 * kernel.1 * cg, aScale: xQuant.scales[0], bScale: wQuant.scales[0], allowRequantized: true)
            if layout == .nchw, case var .chain(chain) = output {  // residuals need NHWC
                chain.steps.removeAll { if case .residualAdd = $0 { true } else { false } }
                output = .chain(chain)
            }
            let conv = try Conv2D(batch: int(1...2), inChannels: groups * cg, height: int(1...14), width: int(1...14), outChannels: oc, kernel: kernel,
                                  strides: [int(1...3), int(1...3)], pads: pads, dilations: dilations, groups: groups, layout: layout,
                                  xType: xType, wType: wType, xQuant: xQuant, wQuant: wQuant, output: output)
            // A schedule must suit every group (their weight zero points may need row sums or not).
            let gemm = try DefaultSchedule.representativeGroup(conv, isa: isa)
            let schedule = conv.isDepthwise && bool() ? nil : self.schedule(for: gemm, isa: isa).map { DefaultSchedule.forConvolution(conv, base: $0) }
            return (.convolution(conv), schedule)
        case 11...14:  // quantize, dequantize, fake quantize
            let type = pick([ElementType.u8, .s8, .u16, .s16])
            let shape = (0..<int(1...4)).map { _ in dimension(40) }
            let mode = int(0...2)
            let axis: Int? = mode == 0 ? nil : int(0...(shape.count - 1))
            let blockSize = mode == 2 ? int(1...4) : 0
            let count: Int
            if let axis {
                let channels = shape[axis], blocks = blockSize > 0 ? (channels + blockSize - 1) / blockSize : channels
                count = blockSize > 0 ? shape[..<axis].reduce(1, *) * blocks * shape[(axis + 1)...].reduce(1, *) : blocks
            } else {
                count = 1
            }
            let quantization = try AxisQuantization(shape: shape, axis: axis, blockSize: blockSize, scales: (0..<count).map { _ in scale() },
                                                    zeroPoints: (0..<count).map { _ in zeroPoint(type) }, type: type)
            switch int(0...2) {
            case 0: return (.quantize(QuantizeLinear(quantization)), nil)
            case 1: return (.dequantize(DequantizeLinear(quantization)), nil)
            default: return (.fakeQuantize(FakeQuantize(quantization)), nil)
            }
        case 15, 16:
            return (.dynamicQuantize(try DynamicQuantizeLinear(rows: dimension(20), columns: dimension(300), perRow: bool())), nil)
        case 17:
            let type: ElementType = bool() ? .u8 : .s8
            let shape = (0..<int(1...4)).map { _ in dimension(20) }
            let other = shape.suffix(int(0...shape.count)).map { bool() ? $0 : 1 }
            let (aShape, bShape) = bool() ? (shape, other) : (other, shape)
            return (.binary(try QLinearBinary(bool() ? .add : .mul, type: type, aShape: aShape, bShape: bShape,
                                              aQuant: .perTensor(scale: scale(), zeroPoint: zeroPoint(type)),
                                              bQuant: .perTensor(scale: scale(), zeroPoint: zeroPoint(type)),
                                              yQuant: .perTensor(scale: scale(), zeroPoint: zeroPoint(type)))), nil)
        case 18:
            let input: ElementType = bool() ? .u8 : .s8, output: ElementType = bool() ? .u8 : .s8
            return (.lookup(try QuantizedLookup(activation(general: true), count: dimension(500), inputType: input,
                                                inputQuant: .perTensor(scale: scale(), zeroPoint: zeroPoint(input)), outputType: output,
                                                outputQuant: .perTensor(scale: scale(), zeroPoint: zeroPoint(output)))), nil)
        case 19:
            let block = pick(NBitsLinear.blockSizes)
            let activations: [Activation] = [.none, .relu, .gelu, .clamp(min: -1, max: 1)]
            return (.nbitsLinear(try NBitsLinear(inputs: dimension(600), outputs: dimension(150), bits: pick(NBitsLinear.bitWidths),
                                                 blockSize: block, zeroPoints: bool() ? .perBlock : .midpoint, compute: bool() ? .int8 : .f32,
                                                 hasBias: bool(), activation: pick(activations))), nil)
        case 21:
            let type: ElementType = bool() ? .u8 : .s8
            let output: LayerNormalization.Output = bool() ? .f32 : .quantized(type: type, scale: scale(), zeroPoint: zeroPoint(type))
            return (.layerNorm(try LayerNormalization(columns: dimension(500), epsilon: pick([1e-5, 1e-12, 0.1]), hasResidual: bool(),
                                                      output: output)), nil)
        case 22:
            return (.softmax(try Softmax(scale: pick([1, 0.125, 0.5, 3]))), nil)
        case 23:
            let headSize = 4 * int(1...20)
            return (.attention(try QuantizedAttention(heads: int(1...6), headSize: headSize, scale: 1 / Float(headSize).squareRoot())), nil)
        case 24:
            let headSize = 4 * int(1...20)
            return (.f32Attention(try F32Attention(heads: int(1...6), headSize: headSize, scale: 1 / Float(headSize).squareRoot())), nil)
        default:
            let columns = dimension(400)
            return (.biasActivation(try BiasActivation(columns: columns, bias: bool() ? (0..<columns).map { _ in float(-2...2) } : nil,
                                                       activation: activation(general: true))), nil)
        }
    }
}
