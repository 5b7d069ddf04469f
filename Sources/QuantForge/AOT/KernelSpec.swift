import Foundation

/// One kernel of a `qforge aot --spec` file:
/// ```json
/// {"kernels": [
///   {"name": "qkv", "preset": "u8s8u8_requant", "m": 16, "k": 384, "n": 384},
///   {"name": "proj", "m": null, "k": 768, "n": 768, "a": "u8", "b": "s8",
///    "a_scale": 0.02, "a_zero_point": 128, "b_scales": [0.01, ...], "b_zero_point": 0,
///    "output": "u8", "y_scale": 0.05, "y_zero_point": 128, "bias": [12, ...],
///    "activation": "relu", "isa": "avx512vnni", "schedule": "avx512vnni mr6 nv4 ku4"}]}
/// ```
/// `m` null (or absent) makes M dynamic. `output` is int32, u8, s8 or f32; `bias` is int32 for
/// u8/s8 and float for f32; `activation` is "none", "relu" or {"clamp": [lo, hi]}.
///
/// A kernel with `"op"` other than "matmul" is another operator ("conv", "dynamic_linear",
/// "quantize", "dequantize", "dynamic_quantize", "qlinear_add", "qlinear_mul", "lookup"; fields in
/// KernelSpec+Operators.swift and the README).
public struct KernelSpec: Sendable {
    public let name: String
    public let operation: AOTOperator
    public let isa: ISA?
    public let schedule: MatMulSchedule?

    /// The matmul, when the kernel is one.
    public var op: MatMul? {
        if case let .matmul(op) = operation { op } else { nil }
    }

    public init(name: String, op: MatMul, isa: ISA? = nil, schedule: MatMulSchedule? = nil) {
        self.init(name: name, operation: .matmul(op), isa: isa, schedule: schedule)
    }

    public init(name: String, operation: AOTOperator, isa: ISA? = nil, schedule: MatMulSchedule? = nil) {
        self.name = name
        self.operation = operation
        self.isa = isa
        self.schedule = schedule
    }

    /// Parses a spec file's JSON; every problem is a `QuantError.invalidSpec` naming its path.
    public static func parse(_ data: Data) throws(QuantError) -> [KernelSpec] {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw .invalidSpec(path: "$", reason: "not JSON: \(error.localizedDescription)")
        }
        guard let object = root as? [String: Any], let kernels = object["kernels"] as? [Any] else {
            throw .invalidSpec(path: "$", reason: "expected an object with a \"kernels\" array")
        }
        var specs: [KernelSpec] = []
        for (index, entry) in kernels.enumerated() {
            guard let fields = entry as? [String: Any] else { throw .invalidSpec(path: "kernels[\(index)]", reason: "expected an object") }
            specs.append(try parseKernel(SpecFields(fields: fields, path: "kernels[\(index)]")))
        }
        if specs.isEmpty { throw .invalidSpec(path: "kernels", reason: "no kernels") }
        return specs
    }

    private static func parseKernel(_ f: SpecFields) throws(QuantError) -> KernelSpec {
        let name = try f.string("name")
        if let kind = try f.optionalString("op"), kind != "matmul" {
            guard name.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                throw .invalidSpec(path: "\(f.path).name", reason: "'\(name)' is not a C identifier")
            }
            var isa: ISA? = nil
            if let text = try f.optionalString("isa") {
                do { isa = try ISA.parse(text) } catch { throw .invalidSpec(path: "\(f.path).isa", reason: error.description) }
            }
            return KernelSpec(name: name, operation: try AOTOperator.parse(kind, f), isa: isa)
        }
        let m = try f.optionalInt("m"), k = try f.int("k"), n = try f.int("n")
        let op: MatMul
        do {
            if let preset = try f.optionalString("preset") {
                guard let known = OperatorPreset(rawValue: preset) else {
                    throw QuantError.invalidSpec(path: "\(f.path).preset", reason: "unknown preset '\(preset)'")
                }
                op = try known.matMul(m: m, k: k, n: n)
            } else {
                op = try MatMul(m: m, k: k, n: n, aType: try f.elementType("a"), bType: try f.elementType("b"),
                                aQuant: .perTensor(scale: try f.float("a_scale", default: 1), zeroPoint: try f.int32("a_zero_point", default: 0)),
                                bQuant: try f.weightQuant(n: n), output: try f.output(n: n))
            }
        } catch let error as QuantError {
            if case .invalidSpec = error { throw error }
            throw .invalidSpec(path: f.path, reason: error.description)
        } catch {
            throw .invalidSpec(path: f.path, reason: "\(error)")
        }
        var isa: ISA? = nil
        if let text = try f.optionalString("isa") {
            do { isa = try ISA.parse(text) } catch { throw .invalidSpec(path: "\(f.path).isa", reason: error.description) }
        }
        var schedule: MatMulSchedule? = nil
        if let text = try f.optionalString("schedule") {
            do { schedule = try MatMulSchedule(parsing: text) } catch {
                throw .invalidSpec(path: "\(f.path).schedule", reason: error.description)
            }
        }
        guard name.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
            throw .invalidSpec(path: "\(f.path).name", reason: "'\(name)' is not a C identifier")
        }
        return KernelSpec(name: name, op: op, isa: isa ?? schedule?.isa, schedule: schedule)
    }
}

/// A JSON number (not a boolean: Foundation represents both as NSNumber, booleans with their own
/// class).
private func jsonNumber(_ raw: Any) -> NSNumber? {
    guard let number = raw as? NSNumber, type(of: number) != type(of: NSNumber(value: true)) else { return nil }
    return number
}

/// Typed access to one spec object's fields, with errors that name the path.
struct SpecFields {
    let fields: [String: Any]
    let path: String

    func fail(_ key: String, _ reason: String) -> QuantError { .invalidSpec(path: "\(path).\(key)", reason: reason) }

    func string(_ key: String) throws(QuantError) -> String {
        guard let value = try optionalString(key) else { throw fail(key, "missing") }
        return value
    }
    func optionalString(_ key: String) throws(QuantError) -> String? {
        guard let raw = fields[key], !(raw is NSNull) else { return nil }
        guard let value = raw as? String else { throw fail(key, "expected a string") }
        return value
    }
    func optionalInt(_ key: String) throws(QuantError) -> Int? {
        guard let raw = fields[key], !(raw is NSNull) else { return nil }
        guard let number = jsonNumber(raw),
              let value = Int(exactly: number.doubleValue) else { throw fail(key, "expected an integer") }
        return value
    }
    func int(_ key: String) throws(QuantError) -> Int {
        guard let value = try optionalInt(key) else { throw fail(key, "missing") }
        return value
    }
    func int32(_ key: String, default value: Int32) throws(QuantError) -> Int32 {
        guard let raw = try optionalInt(key) else { return value }
        guard let exact = Int32(exactly: raw) else { throw fail(key, "\(raw) does not fit int32") }
        return exact
    }
    func float(_ key: String, default value: Float? = nil) throws(QuantError) -> Float {
        guard let raw = fields[key], !(raw is NSNull) else {
            if let value { return value }
            throw fail(key, "missing")
        }
        guard let number = jsonNumber(raw) else { throw fail(key, "expected a number") }
        return number.floatValue
    }
    func floats(_ key: String) throws(QuantError) -> [Float]? {
        guard let raw = fields[key], !(raw is NSNull) else { return nil }
        guard let array = raw as? [Any] else { throw fail(key, "expected an array of numbers") }
        var values: [Float] = []
        for (index, item) in array.enumerated() {
            guard let number = jsonNumber(item) else {
                throw fail("\(key)[\(index)]", "expected a number")
            }
            values.append(number.floatValue)
        }
        return values
    }
    func int32s(_ key: String) throws(QuantError) -> [Int32]? {
        guard let values = try floats(key) else { return nil }
        var result: [Int32] = []
        for (index, value) in values.enumerated() {
            guard let exact = Int32(exactly: value) else { throw fail("\(key)[\(index)]", "expected an int32") }
            result.append(exact)
        }
        return result
    }
    func elementType(_ key: String) throws(QuantError) -> ElementType {
        let text = try optionalString(key) ?? "u8"
        guard let type = ElementType(rawValue: text) else { throw fail(key, "unknown element type '\(text)'") }
        return type
    }
    func weightQuant(n: Int, prefix: String = "b") throws(QuantError) -> QuantParams {
        let scales = try floats("\(prefix)_scales"), points = try int32s("\(prefix)_zero_points")
        if scales == nil && points == nil {
            return .perTensor(scale: try float("\(prefix)_scale", default: 1), zeroPoint: try int32("\(prefix)_zero_point", default: 0))
        }
        let sharedScale = try float("\(prefix)_scale", default: 1), sharedPoint = try int32("\(prefix)_zero_point", default: 0)
        return .perChannel(scales: scales ?? Array(repeating: sharedScale, count: n), zeroPoints: points ?? [sharedPoint])
    }
    func activation() throws(QuantError) -> Activation {
        guard let raw = fields["activation"], !(raw is NSNull) else { return .none }
        if let text = raw as? String {
            switch text {
            case "none": return .none
            case "relu": return .relu
            default: throw fail("activation", "unknown activation '\(text)'")
            }
        }
        guard let object = raw as? [String: Any], let values = object["clamp"] as? [Any], values.count == 2,
              let lower = jsonNumber(values[0]), let upper = jsonNumber(values[1]) else {
            throw fail("activation", "expected \"none\", \"relu\" or {\"clamp\": [lo, hi]}")
        }
        return .clamp(min: lower.floatValue, max: upper.floatValue)
    }
    func output(n: Int) throws(QuantError) -> MatMulOutput {
        switch try optionalString("output") ?? "int32" {
        case "int32":
            for key in ["activation", "bias", "y_scale", "y_zero_point"] where fields[key] != nil {
                throw fail(key, "does not apply to an int32 output (use u8, s8 or f32)")
            }
            return .int32
        case "f32":
            return .dequantized(.init(bias: try floats("bias"), activation: try activation()))
        case let name where name == "u8" || name == "s8":
            return .requantized(.init(type: ElementType(rawValue: name)!,
                                      output: .perTensor(scale: try float("y_scale"), zeroPoint: try int32("y_zero_point", default: 0)),
                                      bias: try int32s("bias"), activation: try activation()))
        case let other:
            throw fail("output", "unknown output '\(other)' (int32, u8, s8 or f32)")
        }
    }
}
