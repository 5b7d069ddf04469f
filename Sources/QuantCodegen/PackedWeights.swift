import QuantOps
import QuantSchedule

/// B packed once for one kernel layout: weight panels, then the int32 compensation vector.
/// 64-byte aligned; immutable after packing, so it can be shared across threads and calls.
public final class PackedWeights: @unchecked Sendable {
    public let layout: PackedLayout
    /// Identifies what the bytes were packed for (op + instruction + panel width), so a kernel can
    /// refuse weights packed for another one.
    public let signature: String
    public let bytes: UnsafeMutableRawPointer
    public var byteCount: Int { layout.totalBytes }

    init(layout: PackedLayout, signature: String) {
        self.layout = layout
        self.signature = signature
        bytes = UnsafeMutableRawPointer.allocate(byteCount: max(layout.totalBytes, 64), alignment: 64)
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: max(layout.totalBytes, 64))
    }

    deinit { bytes.deallocate() }

    /// The packed buffer as bytes (for AOT weight files and tests).
    public var contents: [UInt8] { Array(UnsafeRawBufferPointer(start: bytes, count: byteCount)) }
}

/// Packs B (K×N, row stride `ldb` elements) into a kernel's layout, shifting bytes into the
/// instruction's domain and folding zero points and bias into the compensation vector.
public enum WeightPacker {
    public static func pack(_ op: MatMul, b: UnsafeRawBufferPointer, ldb: Int, instruction: DotInstruction,
                            layout: PackedLayout, signature: String) throws(QuantError) -> PackedWeights {
        try op.bSpec(ldb: ldb).check(bufferBytes: b.count)
        precondition(layout.k == op.k && layout.n == op.n)
        let adjust = OperandAdjustment(op: op, instruction: instruction)
        let packed = PackedWeights(layout: layout, signature: signature)
        let out = packed.bytes.assumingMemoryBound(to: UInt8.self)
        var columnSums = [Int32](repeating: 0, count: op.n)
        // Row by row of B, panel by panel, so that the layout's divisions happen once per row and
        // panel instead of twice per element.
        let bType = op.bType, offset = adjust.bOffset
        columnSums.withUnsafeMutableBufferPointer { sums in
            for kk in 0..<op.k {
                let row = kk * ldb
                for panel in 0..<layout.panels {
                    let first = panel * layout.panelWidth, base = layout.offset(k: kk, panel: panel)
                    for column in 0..<min(layout.panelWidth, op.n - first) {
                        let value = bType.loadInt8(b, row + first + column) + offset
                        sums[first + column] &+= value
                        out[base + column * layout.kGroup] = UInt8(truncatingIfNeeded: value)
                    }
                }
            }
        }
        let compensation = (packed.bytes + layout.compensationOffset).assumingMemoryBound(to: Int32.self)
        let k = Int32(op.k)
        let bias = adjust.foldedBias
        for nn in 0..<op.n {
            let bZero = adjust.bZeroPoints[nn]
            var term = (0 &- adjust.aZeroPoint) &* columnSums[nn]
            term = term &+ k &* adjust.aZeroPoint &* bZero
            compensation[nn] = term &+ (bias?[nn] ?? 0)
        }
        if layout.hasColumnSums {
            // Σ_k (b' - b_zp') = Σ_k (b - b_zp): what a run-time a_zp multiplies.
            let sums = (packed.bytes + layout.columnSumsOffset).assumingMemoryBound(to: Int32.self)
            for nn in 0..<op.n { sums[nn] = columnSums[nn] &- k &* adjust.bZeroPoints[nn] }
        }
        return packed
    }
}
