import QuantForge
import Testing

/// Convolutions (implicit GEMM over every ISA here) bit-exact against the reference on random
/// geometry: odd channel counts, kernel sizes, strides, paddings, dilations, groups, both layouts,
/// every output mode; and the typed errors of bad geometry.
struct ConvolutionTests {
    static func randomConv(_ random: inout TestRandom, layout: Conv2D.Layout, output: OutputKind) throws -> Conv2D {
        while true {
            let groups = [1, 1, 2, 3][random.int(0...3)]
            let cg = random.int(1...9), ocg = random.int(1...21)
            let kernel = (random.int(1...3), random.int(1...4))
            let dilations = [random.int(1...2), random.int(1...2)]
            let pads = (0..<4).map { i in random.int(0...((i % 2 == 0 ? kernel.0 : kernel.1) - 1) * dilations[i % 2]) }
            let xType: ElementType = random.bool() ? .u8 : .s8, wType: ElementType = random.bool() ? .s8 : .u8
            let oc = groups * ocg
            let perChannel = random.bool()
            let xZero = Int32(random.int(Int(xType.integerRange!.lowerBound)...Int(xType.integerRange!.upperBound)))
            let wQuant: QuantParams = perChannel
                ? .perChannel(scales: (0..<oc).map { _ in random.float(0.001...0.01) }, zeroPoints: (0..<oc).map { _ in Int32(random.int(-2...2)) + (wType == .u8 ? 128 : 0) })
                : .perTensor(scale: 0.004, zeroPoint: wType == .u8 ? 128 : 0)
            let outputMode: MatMulOutput
            switch output {
            case .int32: outputMode = .int32
            case .requantized:
                outputMode = .requantized(.init(type: .u8, output: .perTensor(scale: 0.05, zeroPoint: 100),
                                                bias: random.bool() ? (0..<oc).map { _ in Int32(random.int(-2000...2000)) } : nil,
                                                activation: random.bool() ? .relu : .none))
            case .dequantized:
                // An epilogue chain, with a residual add when the layout allows it.
                var steps: [EpilogueChain.Step] = [.bias((0..<oc).map { _ in random.float(-1...1) }), .activation(.gelu)]
                if layout == .nhwc { steps.append(.residualAdd(type: .u8, quant: .perTensor(scale: 0.02, zeroPoint: 128))) }
                outputMode = .chain(EpilogueChain(steps, output: .requantize(type: .s8, quant: .perTensor(scale: 0.03, zeroPoint: 1))))
            }
            if let conv = try? Conv2D(batch: random.int(1...2), inChannels: groups * cg, height: random.int(1...9), width: random.int(1...11),
                                      outChannels: oc, kernel: kernel, strides: [random.int(1...2), random.int(1...3)], pads: pads,
                                      dilations: dilations, groups: groups, layout: layout, xType: xType, wType: wType,
                                      xQuant: .perTensor(scale: 0.02, zeroPoint: xZero), wQuant: wQuant, output: outputMode) {
                return conv
            }
        }
    }

    @Test(arguments: [Conv2D.Layout.nhwc, .nchw], OutputKind.allCases)
    func randomGeometryIsBitExact(_ layout: Conv2D.Layout, _ output: OutputKind) throws {
        var random = TestRandom(seed: (layout == .nhwc ? 7000 : 8000) + UInt64(OutputKind.allCases.firstIndex(of: output)!))
        for _ in 0..<6 {
            let conv = try Self.randomConv(&random, layout: layout, output: output)
            let x = random.bytes(conv.inputElements), w = random.bytes(conv.weightElements)
            let hasResidual = if case let .chain(chain) = conv.output { chain.residual != nil } else { false }
            let residual = hasResidual ? random.bytes(conv.outputElements) : nil
            let expected = ReferenceOperators.conv(conv, x: x, w: w, residual: residual)
            for isa in isasUnderTest {
                let kernel = try Engine(isa: isa).compile(conv)
                let y = try kernel.run(x: x, weights: kernel.packWeights(w), residual: residual)
                #expect(y == expected, "\(isa) \(kernel.schedule) \(conv.batch)x\(conv.inChannels)x\(conv.height)x\(conv.width) -> \(conv.outChannels) k\(conv.kernelHeight)x\(conv.kernelWidth) s\(conv.strides) p\(conv.pads) d\(conv.dilations) g\(conv.groups) \(layout)")
            }
        }
    }

    /// Small row blocks and every loop order: the gather runs once per block, tails included.
    @Test func schedulesWithSmallRowBlocks() throws {
        var random = TestRandom(seed: 9100)
        let conv = try Conv2D(batch: 1, inChannels: 13, height: 9, width: 7, outChannels: 37, kernel: (3, 3), pads: [1, 1, 1, 1],
                              xQuant: .perTensor(scale: 0.1, zeroPoint: 7))
        let x = random.bytes(conv.inputElements), w = random.bytes(conv.weightElements)
        let expected = ReferenceOperators.conv(conv, x: x, w: w)
        for isa in isasUnderTest {
            let engine = try Engine(isa: isa)
            var schedule = try engine.defaultSchedule(for: conv)
            for (rowBlock, order) in [(schedule.rowsPerTile, LoopOrder.panelsOuter), (schedule.rowsPerTile * 3, .rowsOuter)] {
                schedule.rowBlock = rowBlock
                schedule.loopOrder = order
                let kernel = try engine.compile(conv, schedule: schedule)
                #expect(try kernel.run(x: x, weights: kernel.packWeights(w)) == expected, "\(isa) \(schedule)")
            }
        }
    }

    /// `conv` on random input on every ISA here, 1 and 2 threads, with the default row block and
    /// one of `tileMultiple` tiles (cutting output rows), against the reference.
    static func checkEveryISAAndRowBlock(_ conv: Conv2D, _ random: inout TestRandom, tileMultiple: Int, _ label: String) throws {
        let x = random.bytes(conv.inputElements), w = random.bytes(conv.weightElements)
        let expected = ReferenceOperators.conv(conv, x: x, w: w)
        for isa in isasUnderTest {
            for threads in [1, 2] {
                let engine = try Engine(isa: isa, threads: threads)
                var schedule = try engine.defaultSchedule(for: conv)
                for rowBlock in [schedule.rowBlock, schedule.rowsPerTile * tileMultiple] {
                    schedule.rowBlock = rowBlock
                    let kernel = try engine.compile(conv, schedule: schedule)
                    #expect(try kernel.run(x: x, weights: kernel.packWeights(w)) == expected,
                            "\(isa) \(threads) threads \(schedule) \(conv.batch)x\(conv.inChannels)x\(conv.height)x\(conv.width) \(label)")
                }
            }
        }
    }

    /// Small-channel convolutions (RGB stems: C ≤ 4, kernels 3/5/7, strides 1 and 2): the gather's
    /// interior loop copies each window row with one wide load and store, past the row's bytes;
    /// row blocks that start and end inside an output row, images wide enough for the wide read to
    /// be refused near the right edge, both input types, 1 and 2 threads.
    @Test func smallChannelStemsAreBitExact() throws {
        var random = TestRandom(seed: 9300)
        for (channels, kernel, stride) in [(3, 3, 2), (3, 7, 2), (1, 3, 1), (2, 5, 1), (4, 3, 2), (3, 5, 2), (4, 7, 1)] {
            let pad = kernel / 2
            let xType: ElementType = random.bool() ? .u8 : .s8
            let xZero = Int32(random.int(Int(xType.integerRange!.lowerBound)...Int(xType.integerRange!.upperBound)))
            let outChannels = random.int(5...40)
            let conv = try Conv2D(batch: random.int(1...2), inChannels: channels, height: random.int(kernel...kernel + 14),
                                  width: random.int(kernel + 8...kernel + 30), outChannels: outChannels, kernel: (kernel, kernel),
                                  strides: [stride, stride], pads: [pad, pad, kernel - 1 - pad, pad], xType: xType,
                                  xQuant: .perTensor(scale: 0.02, zeroPoint: xZero),
                                  wQuant: .perChannel(scales: (0..<outChannels).map { _ in random.float(0.002...0.01) },
                                                      zeroPoints: (0..<outChannels).map { _ in Int32(random.int(-2...2)) }),
                                  output: .requantized(.init(type: .u8, output: .perTensor(scale: 0.05, zeroPoint: 128),
                                                             bias: (0..<outChannels).map { _ in Int32(random.int(-900...900)) },
                                                             activation: .none)))
            try Self.checkEveryISAAndRowBlock(conv, &random, tileMultiple: 3, "k\(kernel) s\(stride)")
        }
    }

    /// Convolutions whose window rows are whole K groups of ≥ 64 bytes (ResNet's 3×3s): interior
    /// windows are read in place by the microkernel and only border rows are gathered. Strides,
    /// vertical dilation, asymmetric pads, s8 input (sign flip) and u8 weights with zero points
    /// (row sums), row blocks cutting output rows, 1 and 2 threads.
    @Test func windowsReadInPlaceAreBitExact() throws {
        var random = TestRandom(seed: 9400)
        for (channels, kernel, stride, dilation) in [(32, 3, 1, 1), (24, 3, 2, 1), (64, 3, 1, 2), (32, 5, 2, 1), (40, 1, 1, 1), (28, 3, 1, 1)] {
            let xType: ElementType = random.bool() ? .u8 : .s8, wType: ElementType = random.bool() ? .s8 : .u8
            let xZero = Int32(random.int(Int(xType.integerRange!.lowerBound)...Int(xType.integerRange!.upperBound)))
            let outChannels = random.int(9...40)
            let conv = try Conv2D(batch: random.int(1...2), inChannels: channels, height: random.int(kernel * 2...kernel * 2 + 9),
                                  width: random.int(kernel + 6...kernel + 20), outChannels: outChannels, kernel: (kernel, kernel),
                                  strides: [stride, stride], pads: [kernel / 2, kernel / 2, (kernel - 1) / 2 * dilation, kernel / 2],
                                  dilations: [dilation, 1], xType: xType, wType: wType,
                                  xQuant: .perTensor(scale: 0.02, zeroPoint: xZero),
                                  wQuant: .perChannel(scales: (0..<outChannels).map { _ in random.float(0.002...0.01) },
                                                      zeroPoints: (0..<outChannels).map { _ in Int32(random.int(-3...3)) + (wType == .u8 ? 128 : 0) }),
                                  output: .requantized(.init(type: .u8, output: .perTensor(scale: 0.3, zeroPoint: 128),
                                                             bias: (0..<outChannels).map { _ in Int32(random.int(-900...900)) },
                                                             activation: .none)))
            #expect(kernel == 1 || ConvolutionGeometry(conv).readsWindowsDirectly(kGroup: 4))
            try Self.checkEveryISAAndRowBlock(conv, &random, tileMultiple: 2, "k\(kernel) s\(stride) d\(dilation)")
        }
    }

    @Test func badGeometryIsRejected() {
        func conv(c: Int = 4, h: Int = 5, oc: Int = 4, kernel: (Int, Int) = (3, 3), strides: [Int] = [1, 1], pads: [Int] = [0, 0, 0, 0],
                  dilations: [Int] = [1, 1], groups: Int = 1) throws -> Conv2D {
            try Conv2D(inChannels: c, height: h, width: h, outChannels: oc, kernel: kernel, strides: strides, pads: pads,
                       dilations: dilations, groups: groups)
        }
        #expect(throws: QuantError.self) { try conv(groups: 3) }               // groups do not divide channels
        #expect(throws: QuantError.self) { try conv(pads: [3, 0, 0, 0]) }      // padding as large as the kernel
        #expect(throws: QuantError.self) { try conv(pads: [0, -1, 0, 0]) }
        #expect(throws: QuantError.self) { try conv(h: 2) }                    // input smaller than the kernel
        #expect(throws: QuantError.self) { try conv(strides: [0, 1]) }
        #expect(throws: QuantError.self) { try conv(dilations: [1]) }
        #expect(throws: QuantError.self) { try conv(kernel: (0, 3)) }
        #expect(throws: QuantError.self) {
            try Conv2D(inChannels: 4, height: 5, width: 5, outChannels: 4, kernel: (1, 1), wQuant: .perChannel(scales: [1, 1], zeroPoints: [0]))
        }
    }

    @Test func badBuffersAreRejected() throws {
        let conv = try Conv2D(inChannels: 3, height: 4, width: 4, outChannels: 5, kernel: (3, 3), pads: [1, 1, 1, 1])
        let kernel = try Engine(isa: .portable).compile(conv)
        let weights = try kernel.packWeights([UInt8](repeating: 1, count: conv.weightElements))
        #expect(throws: QuantError.self) { try kernel.run(x: [UInt8](repeating: 0, count: 47), weights: weights) }
        #expect(throws: QuantError.self) { try kernel.packWeights([1, 2, 3]) }
        // Weights packed for another layout of B (different zero points) are refused.
        let shifted = try Engine(isa: .portable).compile(try Conv2D(inChannels: 3, height: 4, width: 4, outChannels: 5, kernel: (3, 3),
                                                                   pads: [1, 1, 1, 1], wQuant: .perTensor(scale: 1, zeroPoint: 3)))
        #expect(throws: QuantError.self) {
            try kernel.run(x: [UInt8](repeating: 0, count: 48), weights: shifted.packWeights([UInt8](repeating: 1, count: conv.weightElements)))
        }
    }
}

/// Depthwise convolutions run on their own microkernel: bit-exact against the reference (and
/// against the implicit-GEMM path) for odd channel counts, strides, paddings and dilations.
struct DepthwiseConvolutionTests {
    /// The generated packer (what AOT libraries call) and the JIT's Swift packer write the same
    /// bytes on every ISA here: tap groups and int32 taps, s8 and u8 weights with per-channel zero
    /// points, bias and x's zero point in the compensation (wrapping), tap counts that do not fill
    /// the last group, extreme bytes; channels split across two calls.
    @Test func generatedPackerMatchesTheSwiftOne() throws {
        var random = TestRandom(seed: 660)
        let shapes: [(channels: Int, kernel: (Int, Int))] = [(1, (1, 1)), (7, (3, 3)), (16, (5, 5)), (33, (7, 7)), (19, (1, 3)), (24, (2, 2))]
        for (index, shape) in shapes.enumerated() {
            for wType in [ElementType.s8, .u8] {
                // Zero points that allow tap groups (0 for s8, 128 for u8) on even cases, random ones on odd.
                let fits = index % 2 == 0
                let zeroPoints: [Int32] = (0..<shape.channels).map { _ in
                    fits ? (wType == .s8 ? 0 : 128) : Int32(wType == .s8 ? random.int(-128...127) : random.int(0...255))
                }
                let output: MatMulOutput = index % 3 == 0 ? .dequantized(.init(bias: nil))
                    : .requantized(.init(type: .u8, output: .perTensor(scale: 0.2, zeroPoint: 9),
                                         bias: (0..<shape.channels).map { _ in Int32(random.int(-2_000_000_000...2_000_000_000)) }))
                let conv = try Conv2D(inChannels: shape.channels, height: 8, width: 8, outChannels: shape.channels, kernel: shape.kernel,
                                      groups: shape.channels, wType: wType,
                                      xQuant: .perTensor(scale: 0.05, zeroPoint: index == 1 ? 255 : Int32(random.int(0...255))),
                                      wQuant: .perChannel(scales: (0..<shape.channels).map { _ in random.float(0.005...0.02) }, zeroPoints: zeroPoints),
                                      output: output)
                let w = index == 3 ? (0..<conv.weightElements).map { _ in random.bool() ? 0x80 : 0x7F } : random.bytes(conv.weightElements)
                for isa in isasUnderTest {
                    let expected = try DepthwiseWeights(conv, w: w, isa: isa).values.withUnsafeBytes { Array($0) }
                    #expect(expected.count == DepthwiseWeights.packedBytes(conv, isa: isa))
                    let packer = try KernelCompiler.shared().compile(.depthwisePack(conv), isa: isa)
                    var packed = [UInt8](repeating: 0xA5, count: expected.count)
                    let half = shape.channels / 2
                    w.withUnsafeBytes { w in
                        packed.withUnsafeMutableBytes { out in
                            packer.callUnchecked(x: w.baseAddress, y: out.baseAddress, begin: 0, end: half)
                            packer.callUnchecked(x: w.baseAddress, y: out.baseAddress, begin: half, end: shape.channels)
                        }
                    }
                    #expect(packed == expected, "\(isa) \(shape.channels) channels k\(shape.kernel) w \(wType) zero points \(fits ? "0/128" : "random")")
                }
            }
        }
    }

    /// Weights whose `w - w_zp` fits s8 (s8 with zero point 0, u8 with 128) run four taps per
    /// `vpdpbusd` on VNNI: bit-exact on tails of every kind (channels around the vector width,
    /// kernel sizes whose taps do not fill the last group of four), extreme bytes and zero points.
    @Test(arguments: [ElementType.s8, .u8])
    func tapGroupsAreBitExact(_ wType: ElementType) throws {
        var random = TestRandom(seed: wType == .s8 ? 640 : 650)
        let cases: [(channels: Int, kernel: (Int, Int))] = [(1, (3, 3)), (15, (5, 5)), (16, (3, 3)), (17, (7, 7)), (33, (1, 3)), (69, (3, 3))]
        for (index, (channels, kernel)) in cases.enumerated() {
            let dilations = [random.int(1...2), random.int(1...2)]
            let pads = (0..<4).map { i in random.int(0...((i % 2 == 0 ? kernel.0 : kernel.1) - 1) * dilations[i % 2]) }
            let extreme = index % 2 == 0
            let conv = try Conv2D(batch: 1, inChannels: channels, height: random.int(7...11), width: random.int(7...11),
                                  outChannels: channels, kernel: kernel, strides: [random.int(1...2), random.int(1...2)], pads: pads,
                                  dilations: dilations, groups: channels, xType: .u8, wType: wType,
                                  xQuant: .perTensor(scale: 0.05, zeroPoint: extreme ? 255 : Int32(random.int(0...255))),
                                  wQuant: .perChannel(scales: (0..<channels).map { _ in random.float(0.005...0.02) },
                                                      zeroPoints: Array(repeating: wType == .s8 ? 0 : 128, count: channels)),
                                  output: .requantized(.init(type: .u8, output: .perTensor(scale: 0.5, zeroPoint: 3),
                                                             bias: (0..<channels).map { _ in Int32(random.int(-5000...5000)) })))
            #expect(DepthwiseWeights.usesTapGroups(conv, isa: .avx512vnni) && DepthwiseWeights.usesTapGroups(conv, isa: .avxvnni))
            #expect(!DepthwiseWeights.usesTapGroups(conv, isa: .avx2))
            // An AMX CPU runs the AVX-512 VNNI depthwise kernel: its weights are packed for that kernel.
            #expect(DepthwiseWeights.usesTapGroups(conv, isa: .amx))
            #expect(DepthwiseWeights.packingSignature(conv, isa: .amx) == DepthwiseWeights.packingSignature(conv, isa: .avx512vnni))
            // Extreme cases: every byte at an end of its range.
            let x = extreme ? (0..<conv.inputElements).map { _ in random.bool() ? 255 : 0 } : random.bytes(conv.inputElements)
            let w = extreme ? (0..<conv.weightElements).map { _ in random.bool() ? (wType == .s8 ? 0x80 : 0) : (wType == .s8 ? 0x7F : 255) }
                : random.bytes(conv.weightElements)
            let expected = ReferenceOperators.conv(conv, x: x, w: w)
            for isa in isasUnderTest {
                let compiled = try Engine(isa: isa).compile(conv)
                #expect(try compiled.run(x: x, weights: compiled.packWeights(w)) == expected,
                        "\(isa) \(channels) channels k\(kernel) s\(conv.strides) p\(pads) d\(dilations) w \(wType)")
            }
        }
    }

    @Test(arguments: [Conv2D.Layout.nhwc, .nchw], OutputKind.allCases)
    func bitExactOnEveryISA(_ layout: Conv2D.Layout, _ output: OutputKind) throws {
        var random = TestRandom(seed: (layout == .nhwc ? 610 : 620) + UInt64(OutputKind.allCases.firstIndex(of: output)!))
        for (trial, channels) in [2, 3, 17, 40, 33].enumerated() {
            let kernel = [(3, 3), (5, 5), (7, 7), (1, 3), (7, 7)][trial]
            let dilations = [random.int(1...2), random.int(1...2)]
            let pads = (0..<4).map { i in random.int(0...((i % 2 == 0 ? kernel.0 : kernel.1) - 1) * dilations[i % 2]) }
            let outputMode: MatMulOutput = switch output {
            case .int32: .int32
            case .requantized: .requantized(.init(type: .u8, output: .perTensor(scale: 0.02, zeroPoint: 120),
                                                  bias: (0..<channels).map { _ in Int32(random.int(-500...500)) }, activation: .relu))
            case .dequantized: .chain(EpilogueChain(
                [.scale((0..<channels).map { _ in random.float(0.5...1.5) }), .activation(.sigmoid)]
                    + (layout == .nhwc ? [.residualAdd(type: .s8, quant: .perTensor(scale: 0.01, zeroPoint: 0))] : []),
                output: .requantize(type: .u8, quant: .perTensor(scale: 0.01, zeroPoint: 0))))
            }
            let conv = try Conv2D(batch: random.int(1...2), inChannels: channels, height: random.int(5...12) + (kernel.0 - 1) * dilations[0],
                                  width: random.int(5...12) + (kernel.1 - 1) * dilations[1],
                                  outChannels: channels, kernel: kernel, strides: [random.int(1...2), random.int(1...2)], pads: pads,
                                  dilations: dilations, groups: channels, layout: layout, xType: .u8, wType: .s8,
                                  xQuant: .perTensor(scale: 0.05, zeroPoint: Int32(random.int(0...255))),
                                  wQuant: .perChannel(scales: (0..<channels).map { _ in random.float(0.005...0.02) },
                                                      zeroPoints: (0..<channels).map { _ in Int32(random.int(-3...3)) }),
                                  output: outputMode)
            #expect(conv.isDepthwise)
            let x = random.bytes(conv.inputElements), w = random.bytes(conv.weightElements)
            let hasResidual = if case let .chain(chain) = conv.output { chain.residual != nil } else { false }
            let residual = hasResidual ? random.bytes(conv.outputElements) : nil
            let expected = ReferenceOperators.conv(conv, x: x, w: w, residual: residual)
            for isa in isasUnderTest {
                for threads in [1, 2] {
                    let compiled = try Engine(isa: isa, threads: threads).compile(conv)
                    #expect(compiled.depthwiseKernel != nil)
                    #expect(try compiled.run(x: x, weights: compiled.packWeights(w), residual: residual) == expected,
                            "\(isa) \(threads) threads \(channels) channels k\(kernel) s\(conv.strides) p\(pads) d\(dilations) \(layout)")
                }
            }
            // The implicit-GEMM path (one kernel per channel) agrees.
            if channels > 3 { continue }
            let engine = try Engine(isa: .portable)
            let gemm = try engine.compile(conv, schedule: try engine.defaultSchedule(for: conv))
            #expect(gemm.depthwiseKernel == nil)
            #expect(try gemm.run(x: x, weights: gemm.packWeights(w), residual: residual) == expected)
        }
    }

    @Test func weightsOfAnotherConvolutionAreRefused() throws {
        let conv = try Conv2D(inChannels: 8, height: 6, width: 6, outChannels: 8, kernel: (3, 3), groups: 8)
        let other = try Conv2D(inChannels: 8, height: 6, width: 6, outChannels: 8, kernel: (3, 3), groups: 8,
                               wQuant: .perTensor(scale: 1, zeroPoint: 1))
        let engine = try Engine(isa: .portable)
        let kernel = try engine.compile(conv), otherKernel = try engine.compile(other)
        let w = [UInt8](repeating: 1, count: conv.weightElements)
        #expect(throws: QuantError.self) { try kernel.run(x: [UInt8](repeating: 0, count: conv.inputElements), weights: otherKernel.packWeights(w)) }
        #expect(throws: QuantError.self) { try kernel.packWeights([1, 2]) }
    }
}
