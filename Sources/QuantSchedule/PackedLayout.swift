/// Where each weight byte lives in the packed B buffer, derived from the instruction's K group and
/// the schedule's panel width. The packer, the microkernels and the scheduler read this one type.
///
/// B (K×N) is cut into panels of `panelWidth` columns; inside a panel, k is grouped by `kGroup`:
/// byte (k, n) is at `panel·panelBytes + ((k / kGroup)·panelWidth + n % panelWidth)·kGroup + k % kGroup`.
/// Padding (k ≥ K, n ≥ N) is zero; K is padded to a multiple of `kStep` (the instruction's K0: 64
/// bytes for an AMX tile, whose B tile is 16 K groups of one panel at stride `panelWidth·kGroup`). After the weights, 64-byte aligned, come `paddedN` int32
/// compensation terms (zero points and bias folded in at packing time), and, for kernels whose A
/// zero point arrives at run time, `paddedN` int32 column sums `Σ_k (B[k][n] - b_zp[n])`.
public struct PackedLayout: Sendable, Hashable, CustomStringConvertible {
    public let k: Int
    public let n: Int
    public let kGroup: Int
    public let panelWidth: Int
    /// K is padded with zeros to a multiple of it (a multiple of `kGroup`).
    public let kStep: Int
    /// The buffer ends with the column sums a run-time A zero point needs.
    public let hasColumnSums: Bool

    public init(k: Int, n: Int, kGroup: Int, panelWidth: Int, kStep: Int? = nil, hasColumnSums: Bool = false) {
        self.k = k
        self.n = n
        self.kGroup = kGroup
        self.panelWidth = panelWidth
        self.kStep = kStep ?? kGroup
        self.hasColumnSums = hasColumnSums
    }

    /// The same layout with the column sums for a run-time A zero point.
    public func withColumnSums() -> PackedLayout {
        PackedLayout(k: k, n: n, kGroup: kGroup, panelWidth: panelWidth, kStep: kStep, hasColumnSums: true)
    }

    /// K groups per panel, padding included.
    public var kGroups: Int { (k + kStep - 1) / kStep * (kStep / kGroup) }
    public var panels: Int { (n + panelWidth - 1) / panelWidth }
    public var paddedN: Int { panels * panelWidth }
    /// Columns in the last panel (== panelWidth when N divides evenly).
    public var lastPanelColumns: Int { n - (panels - 1) * panelWidth }
    public var panelBytes: Int { kGroups * kGroup * panelWidth }
    public var weightBytes: Int { panels * panelBytes }
    public var compensationOffset: Int { (weightBytes + 63) / 64 * 64 }
    public var columnSumsOffset: Int { compensationOffset + paddedN * 4 }
    public var totalBytes: Int { columnSumsOffset + (hasColumnSums ? paddedN * 4 : 0) }

    /// Byte offset of B[k][n] in the packed buffer.
    @inline(__always)
    public func offset(k kk: Int, n nn: Int) -> Int {
        let panel = nn / panelWidth
        return offset(k: kk, panel: panel) + (nn - panel * panelWidth) * kGroup
    }

    /// Byte offset of B[k][first column of `panel`]; the panel's next columns follow every
    /// `kGroup` bytes.
    @inline(__always)
    public func offset(k kk: Int, panel: Int) -> Int {
        let group = kk / kGroup
        return panel * panelBytes + group * panelWidth * kGroup + (kk - group * kGroup)
    }

    public var description: String {
        "K=\(k) N=\(n) groups of \(kGroup)×\(panelWidth) columns, \(panels) panels, \(totalBytes) bytes"
    }
}
