import CQuantForgeAPI
import QuantForge

// qf_autotune: the schedule search of `qforge autotune`, from C.

@_cdecl("qf_autotune")
public func qfAutotune(_ context: OpaquePointer?, _ desc: UnsafePointer<qf_matmul_desc>?, _ database: UnsafePointer<CChar>?,
                       _ seconds: Double, _ bestMicroseconds: UnsafeMutablePointer<Double>?,
                       _ defaultMicroseconds: UnsafeMutablePointer<Double>?) -> qf_status {
    guarded { () throws(QuantError) in
        let engine = try HandleRegistry.lookup(context, .context, as: ContextHandle.self).engine
        guard let desc else { throw .invalidArgument(field: "desc", reason: "null pointer") }
        guard let database else { throw .invalidArgument(field: "database", reason: "null path") }
        guard seconds.isFinite, seconds > 0, seconds <= 3600 else {
            throw .invalidArgument(field: "seconds", reason: "\(seconds) must be in (0, 3600]")
        }
        let op = try MatMulDescription.matMul(desc.pointee)
        guard op.m != nil else { throw .invalidShape(field: "desc.m", reason: "tuning needs a fixed M (m > 0)") }
        guard !op.aQuantMode.isRunTime else {
            throw .invalidSpec(path: "desc.a_quantization", reason: "tune the dynamic linear's u8 matmul (QF_A_CONSTANT, a_type U8)")
        }
        let store = try TuningDatabase(path: String(cString: database), access: .readWrite)
        let result = try Autotuner(database: store, isas: [engine.isa], threads: engine.threads).tune(op, budget: .seconds(seconds))
        bestMicroseconds?.pointee = result.bestMicroseconds
        defaultMicroseconds?.pointee = result.defaultMicroseconds
    }
}
