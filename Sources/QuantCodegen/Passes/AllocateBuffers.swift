import QuantOps
import QuantSchedule

/// Pass 9: declares the stack buffers the program needs, sized from the program itself (its
/// tallest tile, its row blocks) and the data it reads:
/// - `accumulatorTile` when the output has an epilogue (a tile's int32 rows wait there);
/// - `outputTile` (and `residualTile` with a residual input) when a microkernel writes a partial panel;
/// - `producedA` / `packedA` when row blocks produce or widen A (`producedSlack`: bytes the
///   producer may write past its last row, e.g. a convolution gather's wide copies);
/// - for tile instructions (AMX) the accumulator tile whatever the output (tiles are stored to
///   memory), the staging tile, and the row-sum tiles.
enum AllocateBuffers {
    static func run(_ program: LoopProgram, op: MatMul, instruction: DotInstruction, layout: PackedLayout,
                    producedSlack: Int = 0) -> LoopProgram {
        var tileRows = 0, partialPanel = false, producedRows = 0, widenedRows = 0
        program.body.forEachNode { node in
            switch node {
            case let .microkernel(call):
                tileRows = max(tileRows, call.tile.rows)
                partialPanel = partialPanel || call.partialPanel != nil
            case let .packA(rows):
                if rows.source != nil { producedRows = max(producedRows, rows.maxRows) }
                if rows.widen { widenedRows = max(widenedRows, rows.maxRows) }
            default:
                break
            }
        }
        var buffers: [KernelBuffer] = []
        if case .int32 = op.output, !instruction.usesTiles {} else {
            let m0 = instruction.rowsPerInstruction
            buffers.append(KernelBuffer(.accumulatorTile, bytes: (tileRows + m0 - 1) / m0 * m0 * layout.panelWidth * 4))
        }
        if partialPanel {
            buffers.append(KernelBuffer(.outputTile, bytes: tileRows * layout.panelWidth * op.output.elementType.byteSize))
            if case let .chain(chain) = op.output, chain.residual != nil {
                buffers.append(KernelBuffer(.residualTile, bytes: tileRows * layout.panelWidth))
            }
        }
        if instruction.usesTiles {
            buffers.append(KernelBuffer(.tileStaging, bytes: AMXPalette.tileBytes))
            buffers.append(KernelBuffer(.rowSumTiles, bytes: (tileRows + instruction.rowsPerInstruction - 1)
                                            / instruction.rowsPerInstruction * AMXPalette.tileBytes))
        }
        if producedRows > 0 { buffers.append(KernelBuffer(.producedA, bytes: producedRows * op.k + producedSlack)) }
        if widenedRows > 0 { buffers.append(KernelBuffer(.packedA, bytes: widenedRows * instruction.packedARowBytes(k: op.k))) }
        var result = program
        result.buffers = buffers
        return result
    }
}
