import CQuantSupport

/// The fields of `qf_matmul_args`, the one argument of every matmul kernel. The struct is defined
/// once, in C (CQuantSupport.h, which the AOT headers and the C API repeat verbatim); the emitter
/// reads each field at the offset the C compiler gives it, never at a hand-numbered one.
enum MatMulArgument: CaseIterable {
    case a, lda, packedB, c, ldc, rowBegin, rowEnd, panelBegin, panelEnd
    /// Read only by kernels whose epilogue chain adds a residual.
    case residual, ldResidual
    /// Read only by kernels that take A's parameters at run time.
    case aScales, aZeroPoints

    /// The field's byte offset in `qf_matmul_args` (every field is 8 bytes on the 64-bit targets).
    var offset: Int {
        let path: PartialKeyPath<qf_matmul_args> = switch self {
        case .a: \.a
        case .lda: \.lda
        case .packedB: \.packed_b
        case .c: \.c
        case .ldc: \.ldc
        case .rowBegin: \.row_begin
        case .rowEnd: \.row_end
        case .panelBegin: \.panel_begin
        case .panelEnd: \.panel_end
        case .residual: \.residual
        case .ldResidual: \.ld_residual
        case .aScales: \.a_scales
        case .aZeroPoints: \.a_zero_points
        }
        return MemoryLayout<qf_matmul_args>.offset(of: path)!
    }
}
