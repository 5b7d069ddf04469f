import CLLVM
import Foundation
import Testing
@testable import LLVMKit

/// LLVMKit wraps LLVM thinly: these tests check the wrapper's promises (ownership, errors carrying
/// LLVM's message, a JIT that is safe to use from several threads).
struct LLVMKitTests {
    /// `i32 name(i32 a, i32 b) { return a * b + 7; }` in a JIT context.
    func multiplyAddModule(_ name: String) -> Module {
        let context = Context(forJIT: ())
        let module = Module(name: name, context: context)
        let b = IRBuilder(context)
        let type = context.function(context.i32, [context.i32, context.i32])
        let function = module.addFunction(name, type: type)
        b.position(at: b.appendBlock(function, "entry"))
        let product = b.mul(LLVMGetParam(function, 0), LLVMGetParam(function, 1))
        LLVMBuildRet(b.ref, b.add(product, context.constInt(context.i32, 7)))
        return module
    }

    typealias BinaryFunction = @convention(c) (Int32, Int32) -> Int32

    @Test func jitCompilesAndRuns() throws {
        let jit = try LLJIT(machine: try TargetMachine.host())
        let module = multiplyAddModule("mul_add")
        try module.verify()
        let tracker = try jit.add(module)
        let function = unsafeBitCast(try jit.lookup("mul_add"), to: BinaryFunction.self)
        #expect(function(6, 7) == 49)
        try jit.remove(tracker)
        #expect(throws: LLVMError.self) { _ = try jit.lookup("mul_add") }
        try jit.remove(tracker)  // idempotent
    }

    @Test func verifierReportsLLVMsMessage() throws {
        let context = Context()
        let module = Module(name: "broken", context: context)
        let function = module.addFunction("f", type: context.function(context.void, []))
        let b = IRBuilder(context)
        b.position(at: b.appendBlock(function, "entry"))  // no terminator
        do {
            try module.verify()
            Issue.record("verifier accepted a block without terminator")
        } catch let error as LLVMError {
            #expect(error.operation == "verify module")
            #expect(error.message.contains("terminator"))
        }
    }

    @Test func badPipelineAndIntrinsicAreErrors() throws {
        let module = multiplyAddModule("f")
        let machine = try TargetMachine.host()
        #expect(throws: LLVMError.self) { try PassPipeline.run("no-such-pass", on: module, for: machine) }
        try PassPipeline.run(PassPipeline.instCombine, on: module, for: machine)
        try module.verify()
        #expect(throws: LLVMError.self) { _ = try module.intrinsic("llvm.x86.no.such.intrinsic") }
        #expect(throws: LLVMError.self) {
            _ = try TargetMachine(triple: "nonsense-unknown-none", cpu: "", features: "")
        }
    }

    @Test func crossCompilesForAArch64() throws {
        let context = Context()
        let module = Module(name: "cross", context: context)
        let b = IRBuilder(context)
        let function = module.addFunction("f", type: context.function(context.i32, [context.i32]))
        b.position(at: b.appendBlock(function, "entry"))
        LLVMBuildRet(b.ref, b.add(LLVMGetParam(function, 0), context.constInt(context.i32, 1)))
        let machine = try TargetMachine(triple: "aarch64-unknown-linux-gnu", cpu: "generic", features: "+neon,+dotprod")
        module.triple = machine.triple
        module.setDataLayout(of: machine)
        let object = try machine.emit(module, as: .object)
        #expect(Array(object.prefix(4)) == [0x7F, 0x45, 0x4C, 0x46])  // ELF
        #expect(object[18] == 183)  // e_machine = EM_AARCH64
        let assembly = String(decoding: try machine.emit(module, as: .assembly), as: UTF8.self)
        #expect(assembly.contains("add"))
    }

    /// An object's undefined symbols are read from its ELF symbol table, and an object that calls a
    /// function outside the JIT's allow-list is refused before it is linked.
    @Test func objectsCallingOtherFunctionsAreRefused() throws {
        let context = Context()
        let module = Module(name: "calls", context: context)
        let b = IRBuilder(context)
        let puts = module.addFunction("puts", type: context.function(context.i32, [context.pointer(to: context.i8)]))
        let function = module.addFunction("qf_k_calls_puts", type: context.function(context.i32, [context.pointer(to: context.i8)]))
        b.position(at: b.appendBlock(function, "entry"))
        let type = context.function(context.i32, [context.pointer(to: context.i8)])
        LLVMBuildRet(b.ref, b.call(puts, type: type, [LLVMGetParam(function, 0)]))
        let machine = try TargetMachine.host()
        module.triple = machine.triple
        module.setDataLayout(of: machine)
        let object = try machine.emit(module, as: .object)
        #expect(try ObjectSymbols.undefined(in: object).get() == ["puts"])
        let jit = try LLJIT(machine: try TargetMachine.host())
        #expect { _ = try jit.add(object: object, name: "calls") } throws: { "\($0)".contains("puts") }
        // Bytes that are not an object, or whose tables point outside the buffer, are errors.
        #expect(throws: ObjectSymbolsError.self) { try ObjectSymbols.undefined(in: Array(object.prefix(40))).get() }
        var damaged = object
        damaged[0x28] = 0xFF; damaged[0x2F] = 0x7F  // section table far past the end
        #expect(throws: ObjectSymbolsError.self) { try ObjectSymbols.undefined(in: damaged).get() }
        // Whatever the bytes, the reader answers (a name list or an error) and never traps: every
        // header field of the object set to extreme values, then random bytes anywhere.
        let sectionTable = Int(object[0x28]) | Int(object[0x29]) << 8 | Int(object[0x2A]) << 16
        for offset in Array(0..<64) + Array(sectionTable..<object.count) {
            for value: UInt8 in [0x00, 0x01, 0x7F, 0x80, 0xFF] {
                var bytes = object
                bytes[offset] = value
                _ = ObjectSymbols.undefined(in: bytes)
            }
        }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<3000 {
            var bytes = object
            for _ in 0..<4 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                bytes[Int(state >> 33) % bytes.count] = UInt8(truncatingIfNeeded: state >> 17)
            }
            _ = ObjectSymbols.undefined(in: bytes)
        }
    }

    @Test func concurrentAddsAreSerialized() async throws {
        let jit = try LLJIT(machine: try TargetMachine.host())
        try await withThrowingTaskGroup(of: Int32.self) { group in
            for i in 0..<32 {
                group.addTask {
                    let name = "f\(i)"
                    _ = try jit.add(multiplyAddModule(name))
                    let function = unsafeBitCast(try jit.lookup(name), to: BinaryFunction.self)
                    return function(Int32(i), 2)
                }
            }
            var results: [Int32] = []
            for try await value in group { results.append(value) }
            #expect(results.sorted() == (0..<32).map { Int32($0) * 2 + 7 })
        }
    }

    @Test func versionAndHost() {
        #expect(LLVM.majorVersion >= 14)
        #expect(!LLVM.hostTriple.isEmpty)
        #expect(LLVM.hostCPUFeatures.contains("+"))
    }
}
