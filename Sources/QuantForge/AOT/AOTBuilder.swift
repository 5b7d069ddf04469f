import Foundation
import LLVMKit

/// `qforge aot` as a library call: kernel specs and a target in, the files of an AOT library out
/// (`NAME.o`, `NAME.h`, and for `multiISA` `NAME_dispatch.c`), rendered from the package's
/// `templates/` (built into the library by the EmbedPackageFiles plugin) or from a folder given.
/// The same inputs give the same bytes.
public enum AOTBuilder {
    /// Schedules of AOT kernels for targets other than this machine use these cache sizes, so that
    /// the output does not depend on the machine that builds it.
    public static let referenceCaches = CacheSizes(l1d: 32 << 10, l2: 1 << 20, l3: 8 << 20)

    /// Names a kernel may not take: C keywords and the C library's and POSIX's functions that an
    /// object defining them would replace at link time.
    static let reservedNames: Set<String> = [
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern", "float",
        "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof", "static",
        "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "bool", "true", "false",
        "main", "exit", "abort", "atexit", "malloc", "calloc", "realloc", "free", "memcpy", "memmove", "memset", "memcmp",
        "strcpy", "strncpy", "strlen", "strcmp", "strncmp", "strcat", "printf", "fprintf", "sprintf", "snprintf", "puts",
        "open", "close", "read", "write", "fopen", "fclose", "fread", "fwrite", "system", "exec", "execv", "execve", "fork",
        "getenv", "setenv", "signal", "raise", "longjmp", "setjmp", "sqrt", "sqrtf", "exp", "expf", "log", "logf", "fabs",
        "fabsf", "floor", "floorf", "ceil", "ceilf", "round", "roundf", "fmaf", "fma", "pthread_create", "dlopen", "dlsym",
    ]

    /// Throws `invalidSpec` unless `name` is a C identifier that cannot collide with C, its library
    /// or the compiler's reserved names (`_X…`, `__…`).
    static func checkSymbolName(_ name: String) throws(QuantError) {
        guard name.range(of: "^[A-Za-z_][A-Za-z0-9_]{0,127}$", options: .regularExpression) != nil else {
            throw .invalidSpec(path: "name", reason: "'\(name)' is not a C identifier of at most 128 characters")
        }
        if reservedNames.contains(name) || name.hasPrefix("__") || name.range(of: "^_[A-Z]", options: .regularExpression) != nil
            || name.hasPrefix("qf_k_") || name.hasPrefix("str") && name.count > 3 && name.dropFirst(3).first!.isLowercase
            || name.hasPrefix("mem") && name.count > 3 && name.dropFirst(3).first!.isLowercase {
            throw .invalidSpec(path: "name", reason: "'\(name)' is reserved (a C keyword or library function, a name C reserves: _X…, __…, str…/mem… followed by a lowercase letter, or QuantForge's qf_k_…); choose another kernel name")
        }
    }

    /// The best instruction set with a microkernel that `target` can run.
    public static func bestISA(for target: CodegenTarget) -> ISA {
        ISA.preferenceOrder.first { isa in (try? InstructionTable.instruction(for: isa)).map { (try? target.require($0)) != nil } ?? false } ?? .portable
    }

    /// The variants of a multi-ISA library for `target`, best first.
    public static func variants(for target: CodegenTarget) -> [ISA] {
        ISA.preferenceOrder.filter { isa in (try? InstructionTable.instruction(for: isa)).map { (try? target.require($0)) != nil } ?? false }
    }

    public static func build(_ specs: [KernelSpec], target: CodegenTarget, library: String, multiISA: Bool = false,
                             templates: URL? = nil, caches: CacheSizes? = nil) throws(QuantError) -> [String: [UInt8]] {
        guard library.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
            throw .invalidSpec(path: "library", reason: "'\(library)' is not a C identifier")
        }
        try target.validate()
        for spec in specs { try checkSymbolName(spec.name) }
        // Templates become C in the generated header: the built-in ones, or a folder no other user
        // can write.
        if let templates, let reason = FileTrust.distrustDirectory(templates.path) {
            throw .fileRefused(path: templates.path, reason: "templates are not loaded from here: \(reason)")
        }
        let caches = caches ?? referenceCaches
        func readTemplate(_ name: String) throws(QuantError) -> String {
            guard let templates else {
                guard let text = PackageFiles.text("templates/\(name)") else {
                    throw .invalidSpec(path: "templates/\(name)", reason: "not built into this library")
                }
                return text
            }
            let file = templates.appendingPathComponent(name).path
            do { return String(decoding: try FileTrust.readRegularFile(file, limit: 1 << 20, followLinks: true).data, as: UTF8.self) } catch {
                throw .invalidSpec(path: file, reason: "cannot read: \(error)")
            }
        }
        let names = specs.map(\.name)
        if Set(names).count != names.count { throw .invalidSpec(path: "kernels", reason: "kernel names must be unique") }
        // Matmuls are NAME.h's kernels; every other operator is in NAME_operators.h / .c.
        let matmuls = specs.compactMap { spec in spec.op.map { (spec: spec, op: $0) } }
        let operatorSpecs = specs.filter { $0.op == nil }
        let isas = variants(for: target)
        let operators = AOTOperatorLibrary(specs: operatorSpecs, multiISA: multiISA, variants: isas, caches: caches, target: target)
        let operatorRequests = try operators.requests()
        var context: [String: TemplateValue] = [
            "library": .text(library), "upper_library": .text(library.uppercased()), "guard": .text(library.uppercased() + "_H"),
            "version": .text("\(generatorVersion) (LLVM \(LLVM.majorVersion))"), "triple": .text(target.triple),
            "cpu": .text(target.cpu), "features": .text(target.features), "kernel_count": .text("\(matmuls.count)"),
            "has_operators": .flag(!operatorSpecs.isEmpty),
        ]
        /// NAME_operators.h and .c, when the library has operators.
        func operatorFiles(_ compiled: AOTLibrary) throws(QuantError) -> [String: [UInt8]] {
            guard !operatorSpecs.isEmpty else { return [:] }
            var operatorContext = context.merging(try operators.context(compiled, requests: operatorRequests)) { $1 }
            operatorContext["variant_list"] = .text((multiISA ? isas : Array(Set(operatorSpecs.flatMap { operators.isas(for: $0) }))
                .sorted { $0.rawValue < $1.rawValue }).map(\.rawValue).joined(separator: ", "))
            return ["\(library)_operators.h": Array(try Template.render(try readTemplate("operators.h.template"), operatorContext).utf8),
                    "\(library)_operators.c": Array(try Template.render(try readTemplate("operators.c.template"), operatorContext).utf8)]
        }
        if !multiISA {
            var requests: [AOTRequest] = []
            for (spec, op) in matmuls {
                let isa = spec.isa ?? bestISA(for: target)
                let schedule = if let given = spec.schedule { given } else {
                    try DefaultSchedule.forMatMul(op, isa: isa, caches: caches)
                }
                requests.append(AOTRequest(symbol: spec.name, op: op, schedule: schedule))
            }
            let compiled = try AOTCompiler.compileLibrary(requests, operators: operatorRequests, target: target, moduleName: library)
            context["kernels"] = .list(compiled.kernels.map(describe))
            let header = try Template.render(try readTemplate("matmul_library.h.template"), context)
            return ["\(library).o": compiled.object, "\(library).h": Array(header.utf8)].merging(try operatorFiles(compiled)) { $1 }
        }
        var requests: [AOTRequest] = []
        for (spec, op) in matmuls {
            for isa in isas {
                let schedule = if let given = spec.schedule, given.isa == isa { given } else {
                    try DefaultSchedule.forMatMul(op, isa: isa, caches: caches)
                }
                requests.append(AOTRequest(symbol: "\(spec.name)__\(isa.rawValue)", op: op, schedule: schedule))
            }
        }
        let compiled = try AOTCompiler.compileLibrary(requests, operators: operatorRequests, target: target, moduleName: library)
        context["variant_list"] = .text(isas.map(\.rawValue).joined(separator: ", "))
        context["variant_names"] = .text(isas.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
        context["kernels"] = .list(matmuls.map(\.spec).enumerated().map { index, spec in
            let variants = Array(compiled.kernels[(index * isas.count)..<((index + 1) * isas.count)])
            var item = describe(variants[0])
            item["symbol"] = .text(spec.name)
            item["upper"] = .text(spec.name.uppercased())
            item["variants"] = .list(isas.map { ["isa": .text($0.rawValue)] })
            item["packed_sizes"] = .text(variants.map { "\($0.layout.totalBytes)" }.joined(separator: ", "))
            item["pack_symbols"] = .text(variants.map(\.packSymbol).joined(separator: ", "))
            item["kernel_symbols"] = .text(variants.map(\.symbol).joined(separator: ", "))
            item["panel_counts"] = .text(variants.map { "\($0.layout.panels)" }.joined(separator: ", "))
            return item
        })
        let header = try Template.render(try readTemplate("multi_isa_library.h.template"), context)
        context["x86_cpu_checks"] = .text(try readTemplate("x86_cpu_checks.c.template"))
        let dispatcher = try Template.render(try readTemplate("multi_isa_dispatch.c.template"), context)
        return ["\(library).o": compiled.object, "\(library).h": Array(header.utf8), "\(library)_dispatch.c": Array(dispatcher.utf8)]
            .merging(try operatorFiles(compiled)) { $1 }
    }

    /// A tensor's quantization in words.
    static func describe(quant q: QuantParams) -> String {
        if q.granularity == .perTensor { return "scale \(q.scales[0]), zero point \(q.zeroPoints[0])" }
        let points = Set(q.zeroPoints)
        return "per-column scales (\(q.scales.count), \(q.scales.min()!)…\(q.scales.max()!)), zero point"
            + (points.count == 1 ? " \(q.zeroPoints[0])" : "s \(q.zeroPoints.min()!)…\(q.zeroPoints.max()!)")
    }

    /// QuantizeLinear's parameters in words.
    static func describe(axis q: AxisQuantization) -> String {
        let range = "scales \(q.scales.min()!)…\(q.scales.max()!), zero points \(q.zeroPoints.min()!)…\(q.zeroPoints.max()!)"
        guard let axis = q.axis else { return "per tensor: scale \(q.scales[0]), zero point \(q.zeroPoints[0])" }
        return q.blockSize > 0 ? "blocks of \(q.blockSize) along axis \(axis): \(range)" : "per axis \(axis): \(range)"
    }

    static func describe(activation a: Activation) -> String {
        switch a {
        case .none: "no activation"
        case .relu: "ReLU"
        case let .clamp(lo, hi): "clamp to [\(lo), \(hi)]"
        case .gelu: "GELU"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        }
    }

    /// A matmul's or convolution's output in words.
    static func describe(output: MatMulOutput) -> String {
        switch output {
        case .int32:
            return "int32 accumulators (ONNX MatMulInteger)"
        case let .requantized(r):
            return "requantized (ONNX QLinearMatMul): \(describe(quant: r.output))\(r.bias == nil ? "" : ", int32 bias"), \(describe(activation: r.activation))"
        case let .dequantized(d):
            return "dequantized: acc · a_scale · b_scale[n]\(d.bias == nil ? "" : " + bias[n]"), \(describe(activation: d.activation))"
        case let .chain(chain):
            let steps = chain.steps.map { step -> String in
                switch step {
                case .bias: "+ bias[n]"
                case .scale: "· scale[n]"
                case let .activation(a): describe(activation: a)
                case .residualAdd: "+ residual"
                }
            }
            let end: String = switch chain.output {
            case let .requantize(type, params): "requantize to \(type.rawValue) (\(describe(quant: params)))"
            case .dequantize: "f32"
            }
            return "epilogue chain: acc · a_scale · b_scale[n], \((steps + [end]).joined(separator: ", "))"
        }
    }

    /// What the header says about one kernel.
    static func describe(_ kernel: AOTKernel) -> [String: TemplateValue] {
        let op = kernel.op
        return [
            "symbol": .text(kernel.symbol), "upper": .text(kernel.symbol.uppercased()),
            "k": .text("\(op.k)"), "n": .text("\(op.n)"), "m": .text("\(op.m ?? 0)"),
            "m_description": .text(op.m.map { "fixed at \($0) (pass m = \($0))" } ?? "given per call"),
            "a_type": .text(op.aType.rawValue), "b_type": .text(op.bType.rawValue),
            "output_type": .text(op.output.elementType.rawValue), "a_quant": .text(describe(quant: op.aQuant)),
            "b_quant": .text(describe(quant: op.bQuant)), "output_description": .text(describe(output: op.output)),
            "isa": .text(kernel.instruction.isa.rawValue), "mnemonic": .text(kernel.instruction.mnemonic),
            "schedule": .text(kernel.schedule.description), "packed_bytes": .text("\(kernel.layout.totalBytes)"),
            "layout": .text(kernel.layout.description), "panels": .text("\(kernel.layout.panels)"),
            "c_element_bytes": .text("\(op.output.elementType.byteSize)"),
        ]
    }
}
