extension LoopNode {
    /// The row loop and the panel loop when this node is `for m: for p: …` with the panel loop the
    /// row loop's only child: the nest `buildLoopNest` makes, which cache blocking and loop
    /// ordering rewrite.
    var rowAroundPanel: (row: Loop, panel: Loop)? {
        guard case let .loop(row) = self, row.variable == .row, row.body.count == 1,
              case let .loop(panel) = row.body[0], panel.variable == .panel
        else { return nil }
        return (row, panel)
    }
}
