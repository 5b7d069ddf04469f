import Foundation

/// An SVG scatter plot of the latency/accuracy trade-off: one labeled point per (mode, method),
/// latency per sentence on x, mean cosine similarity to f32 on y.
public enum TradeOffPlot {
    public struct Point: Sendable {
        public let label: String
        public let milliseconds: Double
        public let cosine: Double
        public init(label: String, milliseconds: Double, cosine: Double) {
            self.label = label
            self.milliseconds = milliseconds
            self.cosine = cosine
        }
    }

    /// The comment every plot carries, so that `--plot` may replace a plot it wrote earlier (and
    /// nothing else).
    public static let marker = "<!-- written by qforge minilm --plot -->"

    /// Whether `data` is a plot QuantForge wrote.
    public static func isPlot(_ data: Data) -> Bool {
        String(decoding: data.prefix(4096), as: UTF8.self).contains(marker)
    }

    public static func svg(_ points: [Point], title: String, xLabel: String = "ms per sentence (batch 32, 1 thread)",
                           yLabel: String = "mean cosine to f32") -> String {
        let width = 720.0, height = 460.0, left = 80.0, right = 220.0, top = 50.0, bottom = 60.0
        let xs = points.map(\.milliseconds), ys = points.map(\.cosine)
        let xMax = (xs.max() ?? 1) * 1.1, xMin = 0.0
        let yMin = min(ys.min() ?? 0.99, 0.99) - 0.002, yMax = 1.0005
        func x(_ v: Double) -> Double { left + (v - xMin) / (xMax - xMin) * (width - left - right) }
        func y(_ v: Double) -> Double { height - bottom - (v - yMin) / (yMax - yMin) * (height - top - bottom) }
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        \(marker)
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="28" font-size="16">\(escape(title))</text>
        <line x1="\(left)" y1="\(height - bottom)" x2="\(width - right)" y2="\(height - bottom)" stroke="black"/>
        <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(height - bottom)" stroke="black"/>
        <text x="\((left + width - right) / 2)" y="\(height - 18)" text-anchor="middle">\(escape(xLabel))</text>
        <text transform="translate(22 \((top + height - bottom) / 2)) rotate(-90)" text-anchor="middle">\(escape(yLabel))</text>

        """
        for i in 0...5 {
            let v = xMin + (xMax - xMin) * Double(i) / 5
            svg += "<text x=\"\(x(v))\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(String(format: "%.2f", v))</text>\n"
            let w = yMin + (yMax - yMin) * Double(i) / 5
            svg += "<text x=\"\(left - 8)\" y=\"\(y(w) + 4)\" text-anchor=\"end\">\(String(format: "%.4f", w))</text>\n"
            svg += "<line x1=\"\(left)\" y1=\"\(y(w))\" x2=\"\(width - right)\" y2=\"\(y(w))\" stroke=\"#ddd\"/>\n"
        }
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]
        for (index, point) in points.enumerated() {
            let color = colors[index % colors.count]
            svg += "<circle cx=\"\(x(point.milliseconds))\" cy=\"\(y(point.cosine))\" r=\"6\" fill=\"\(color)\"/>\n"
            svg += "<rect x=\"\(width - right + 16)\" y=\"\(top + Double(index) * 20 - 9)\" width=\"10\" height=\"10\" fill=\"\(color)\"/>\n"
            svg += "<text x=\"\(width - right + 32)\" y=\"\(top + Double(index) * 20)\">\(escape(point.label))</text>\n"
        }
        return svg + "</svg>\n"
    }
}
