import QuantSchedule

/// Pass 8: when B's last panel is narrower than the others, every microkernel learns which panel
/// that is and how many of its columns are valid; its stores (and residual loads) then go through
/// stack tiles, so that no access passes column N.
/// ```
/// microkernel … C[m +MR rows, panel p] …, panel 12 has 5 columns (stored through a stack tile)
/// ```
enum GuardPartialPanel {
    static func run(_ program: LoopProgram, layout: PackedLayout) -> LoopProgram {
        guard layout.lastPanelColumns != layout.panelWidth else { return program }
        let partial = PartialPanel(index: layout.panels - 1, columns: layout.lastPanelColumns)
        return program.rewritten { node -> [LoopNode]? in
            guard case var .microkernel(call) = node else { return nil }
            call.partialPanel = partial
            return [.microkernel(call)]
        }
    }
}
