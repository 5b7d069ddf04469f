/// A JIT-compiled kernel of any operator: what the engine's kernel cache holds. Its machine code
/// is freed when the last reference goes.
public protocol CompiledKernel: AnyObject, Sendable {
    var code: JITCode { get }
}

extension CompiledMatMulKernel: CompiledKernel {}
extension CompiledElementwiseKernel: CompiledKernel {}
