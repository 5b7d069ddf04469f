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
        /// Tile instructions: one zero-padded A tile (16 rows × 64 bytes) for rows or K bytes that
        /// a tile load must not read in place (a partial tile, K's tail).
        case tileStaging
        /// Tile instructions: each row tile's row sums (a tile of 16 rows × 64 bytes per row tile).
        case rowSumTiles
    }
    public var role: Role
    public var bytes: Int

    public init(_ role: Role, bytes: Int) {
        self.role = role
        self.bytes = bytes
    }

    public var description: String { "buffer \(role.rawValue): \(bytes) bytes" }
}
