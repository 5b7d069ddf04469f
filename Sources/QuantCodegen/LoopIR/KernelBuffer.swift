/// A buffer on the kernel's stack, declared by the lowering (pass `allocateBuffers`) with its
/// size; the emitter allocates what the program declares and nothing else.
public struct KernelBuffer: Hashable, Sendable, CustomStringConvertible {
    public enum Role: String, Hashable, Sendable, CaseIterable {
        /// A tile's int32 rows between its dot products and its epilogue.
        case accumulatorTile
        /// The output rows of the last, partial panel, before their valid columns go to C.
        case outputTile
        /// The residual rows of the last, partial panel (their valid columns copied in first).
        case residualTile
        /// A row block's rows produced from the input (gathered windows or quantized f32 rows).
        case producedA
        /// A row block's rows widened into the instruction's packed-A form.
        case packedA
    }
    public var role: Role
    public var bytes: Int

    public init(_ role: Role, bytes: Int) {
        self.role = role
        self.bytes = bytes
    }

    public var description: String { "buffer \(role.rawValue): \(bytes) bytes" }
}

/// The last panel of B when it is narrower than the others: its stores (and residual loads) go
/// through stack tiles so that nothing passes column N.
public struct PartialPanel: Hashable, Sendable, CustomStringConvertible {
    /// The panel's index.
    public var index: Int
    /// Its valid columns.
    public var columns: Int

    public init(index: Int, columns: Int) {
        self.index = index
        self.columns = columns
    }

    public var description: String { "panel \(index) has \(columns) columns" }
}
