import QuantOps

/// A rough, fast estimate of a schedule's time (arbitrary units, lower is better), used to rank
/// candidates before any is measured: dot instructions and loads per K group of each microkernel
/// call, issued two per cycle, plus a penalty when the working set misses the cache it is meant
/// to fit.
public enum CostModel {
    public static func estimate(_ op: MatMul, m: Int, schedule: MatMulSchedule, caches: CacheSizes) -> Double {
        guard let instruction = try? schedule.instruction(), let layout = try? schedule.layout(k: op.k, n: op.n) else {
            return .infinity
        }
        let m0 = instruction.rowsPerInstruction, nv = schedule.vectorsPerRow
        // Instructions per dot: the AVX2 form needs a separate add; the portable one a mul and an add.
        let dotCost: Double = switch instruction.kind {
        case .avx2Pmaddwd: 2
        case .portableWidening: 4
        default: 1
        }
        func tileCycles(_ rows: Int) -> Double {
            let groups = Double((rows + m0 - 1) / m0)
            let dots = groups * Double(nv) * dotCost
            let loads = Double(nv) + groups
            return max(dots, loads) / 2 + 1.5
        }
        let mr = schedule.rowsPerTile
        if instruction.usesTiles {
            // Per K group: a tdpb*d takes 16 cycles for 16 groups of a 16×16 tile, a tile load ~8;
            // leftover rows run as tiles of 16, 8, 4, 2, 1 rows, each at a whole tile's cost.
            let rowTiles = Double((mr + m0 - 1) / m0), vectors = Double(nv)
            let perTile = (16 * rowTiles * vectors + 8 * (rowTiles + vectors)) / 16
            let leftover = m % mr, leftoverTiles = leftover / m0 + (leftover % m0).nonzeroBitCount
            let cycles = (Double(m / mr) * perTile + Double(leftoverTiles) * (16 * vectors + 8 * (1 + vectors)) / 16)
                * Double(layout.panels) * Double(layout.kGroups)
            return cycles / Double(max(1, schedule.kUnroll)).squareRoot()
        }
        let perPanel = Double(m / mr) * tileCycles(mr) + Double(m % mr) * tileCycles(1)
        let loopOverhead: Double = Double(max(1, schedule.kUnroll)).squareRoot()
        let groups: Double = Double(layout.panels) * Double(layout.kGroups)
        var cycles: Double = perPanel * groups / loopOverhead
        // The B panel should stay in L1 across a block's row tiles, the B block in L2.
        let panelBytes = layout.panelBytes
        if schedule.loopOrder == .panelsOuter && panelBytes > caches.l1d { cycles *= 1.15 }
        if schedule.loopOrder == .rowsOuter && min(schedule.panelBlock, layout.panels) * panelBytes > caches.l2 / 2 { cycles *= 1.2 }
        return cycles
    }
}
