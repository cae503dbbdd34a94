import Foundation

/// `report.svg`: per scenario, a bar chart of throughput (MiB/s when the scenario moves bytes, ops/s otherwise)
/// and one of RPCs per op, across the parameters that vary, grouped by mode; one bar per ok result.
public enum Plot {
    /// Mode colours (colour-blind friendly); results without a mode use the last one.
    static let palette: [(String, String)] = [
        ("exclusive", "#0072B2"), ("writethrough", "#009E73"), ("shared", "#E69F00"), ("none", "#CC79A7"), ("-", "#6B7280"),
    ]

    /// One bar: a result's value and what it stands for.
    struct Bar {
        var category: String
        var series: String
        var value: Double
        var tooltip: String
    }

    /// One chart's data and labels.
    struct Chart {
        var id: String
        var scenario: String
        var title: String
        var subtitle: String
        var xLabel: String
        var yLabel: String
        var bars: [Bar]
        var categories: [String]
        var series: [String]
        /// Whether a logarithmic axis may be used (throughput; never for RPC counts).
        var logAllowed: Bool
    }

    /// The SVG of a report.
    public static func render(_ report: Report) -> String {
        let charts = makeCharts(report)
        let header = "swift-gofer bench — \(report.context.date) — \(report.context.host) (\(report.context.build))"
        var body = ""
        var y = 56.0
        var width = 640.0
        // One row per scenario: its throughput chart, then its RPC chart to the right.
        var i = 0
        while i < charts.count {
            let (svg, w, h) = draw(charts[i], top: y, originX: 0)
            body += svg
            var rowWidth = w, rowHeight = h
            if i + 1 < charts.count, charts[i + 1].scenario == charts[i].scenario {
                let (svg2, w2, h2) = draw(charts[i + 1], top: y, originX: w + 10)
                body += svg2
                rowWidth += 10 + w2
                rowHeight = max(h, h2)
                i += 1
            }
            i += 1
            width = max(width, rowWidth)
            body += "<line x1=\"20\" y1=\"\(f(y + rowHeight + 12))\" x2=\"\(f(rowWidth - 20))\" y2=\"\(f(y + rowHeight + 12))\" stroke=\"#D1D5DB\"/>\n"
            y += rowHeight + 24
        }
        appendLinkDelayCharts(report, to: &body, y: &y, width: &width)
        if charts.isEmpty {
            body += text(20, y + 10, "No ok result to plot.", size: 14)
            y += 40
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(y))" \
            viewBox="0 0 \(Int(width)) \(Int(y))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
            <rect x="0" y="0" width="\(Int(width))" height="\(Int(y))" fill="#ffffff"/>
            \(text(20, 30, header, size: 18, weight: "bold"))
            \(text(20, 48, "Bars: medians over repetitions; one bar per ok result. Grouped by mode (legend); x: the parameters that vary.", size: 12, fill: "#374151"))
            \(body)</svg>

            """
    }

    /// Builds the charts of every scenario with ok results, in report order.
    static func makeCharts(_ report: Report) -> [Chart] {
        let ok = report.results.filter { $0.status == .ok }
        var order: [String] = []
        for r in ok where !order.contains(r.scenario) { order.append(r.scenario) }
        var charts: [Chart] = []
        for scenario in order {
            let rs = ok.filter { $0.scenario == scenario }
            // Every parameter any result has: a native floor has fewer than the 9P results beside it.
            let keys = ParamKey.allCases.filter { k in rs.contains { $0.params[k] != nil } }
            let servers = Set(rs.map(\.server.label))
            var varying: [ParamKey] = []
            var fixed: [String] = []
            for k in keys where k != .mode {
                let values = rs.map { $0.params[k].map { valueText(k, $0) } ?? "" }
                if Set(values).count > 1 { varying.append(k) } else if let v = values.first { fixed.append("\(k.rawValue)=\(v)") }
            }
            // A category is the varying values in the order the x-axis label names their parameters.
            func category(_ r: ResultRecord) -> String {
                var parts = varying.map { k in r.params[k].map { valueText(k, $0) } ?? "" }
                if servers.count > 1 { parts.insert(r.server.label, at: 0) }
                return parts.isEmpty ? "all" : parts.joined(separator: " / ")
            }
            func series(_ r: ResultRecord) -> String { r.params[.mode]?.textValue ?? "-" }
            var categories: [String] = []
            var seriesSeen: [String] = []
            for r in rs {
                let c = category(r)
                if !categories.contains(c) { categories.append(c) }
                let s = series(r)
                if !seriesSeen.contains(s) { seriesSeen.append(s) }
            }
            let seriesOrder = palette.map(\.0).filter { seriesSeen.contains($0) }
            let mib = rs.contains { $0.throughput?.mibPerS?.median != nil }
            let metric = mib ? "throughput.mib_per_s.median" : "throughput.ops_per_s.median"
            let unit = mib ? "MiB/s" : "ops/s"
            var sub = "server: " + servers.sorted().joined(separator: ", ")
            if !fixed.isEmpty { sub += "; fixed: " + fixed.joined(separator: " ") }
            let xLabel = (servers.count > 1 ? ["server"] : []) + varying.map(\.rawValue)
            func bars(_ path: String, digits: Int) -> [Bar] {
                rs.map { r in
                    let v = r.metric(path) ?? 0
                    let c = category(r), s = series(r)
                    return Bar(category: c, series: s, value: v,
                               tooltip: "\(scenario) \(s == "-" ? "" : "mode=\(s) ")\(c): \(Units.fixed(v, digits))")
                }
            }
            let slug = scenario.map { $0.isLetter || $0.isNumber ? $0 : "-" }
            charts.append(Chart(id: "throughput-" + String(slug), scenario: scenario, title: "\(scenario): throughput (\(unit), higher is better)",
                                subtitle: sub, xLabel: xLabel.isEmpty ? "(one configuration)" : xLabel.joined(separator: " / "),
                                yLabel: unit, bars: bars(metric, digits: 1), categories: categories, series: seriesOrder,
                                logAllowed: true))
            charts.append(Chart(id: "rpcs-" + String(slug), scenario: scenario, title: "\(scenario): RPCs per op (lower is better)",
                                subtitle: sub, xLabel: xLabel.isEmpty ? "(one configuration)" : xLabel.joined(separator: " / "),
                                yLabel: "RPCs per op", bars: bars("rpcs_per_op", digits: 2), categories: categories, series: seriesOrder,
                                logAllowed: false))
        }
        return charts
    }

    /// A parameter value as text (sizes shortened).
    static func valueText(_ key: ParamKey, _ v: ParamValue) -> String {
        if let i = v.intValue, key.isSize { return Units.formatSize(i) }
        return v.description
    }

    /// Draws `c` with its top at `top`; returns the SVG and the chart's width and height.
    static func draw(_ c: Chart, top: Double, originX x0: Double) -> (String, Double, Double) {
        let nSeries = max(1, c.series.count)
        let barWidth = nSeries * c.categories.count > 60 ? 10.0 : (nSeries * c.categories.count > 24 ? 16.0 : 24.0)
        let groupGap = 14.0
        let groupWidth = Double(nSeries) * barWidth
        let left = x0 + 86.0, plotTop = top + 46, plotHeight = 220.0
        let legendWidth = 150.0
        let longest = Double(c.categories.map(\.count).max() ?? 0)
        let rotate = c.categories.count > 1 && longest * 6.6 > groupWidth + groupGap
        // A label rotated by 40 degrees reaches cos(40) of its length to the left of its group: room for the first.
        let reach = rotate ? longest * 6.2 * 0.77 : 0
        let shift = max(0, x0 + 12 + reach - (x0 + 86 + groupGap + groupWidth / 2))
        let plotWidth = max(360, Double(c.categories.count) * (groupWidth + groupGap) + groupGap + shift)
        let labelSpace = rotate ? min(260, longest * 6.6 * 0.65 + 16) : 22
        let width = left - x0 + plotWidth + 20 + legendWidth
        let height = (plotTop - top) + plotHeight + labelSpace + 34
        let axis = Axis(values: c.bars.map(\.value), allowLog: c.logAllowed)
        var s = "<g class=\"chart\" id=\"\(esc(c.id))\">\n"
        s += text(x0 + 20, top + 16, c.title, size: 15, weight: "bold")
        s += text(x0 + 20, top + 34, c.subtitle, size: 12, fill: "#4B5563")
        // Grid, ticks and the y label.
        for t in axis.ticks {
            let y = plotTop + plotHeight - axis.fraction(t) * plotHeight
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#E5E7EB\" stroke-width=\"1\"/>\n"
            s += text(left - 8, y + 4, axis.label(t), size: 11, anchor: "end", fill: "#374151")
        }
        s += "<line x1=\"\(f(left))\" y1=\"\(f(plotTop))\" x2=\"\(f(left))\" y2=\"\(f(plotTop + plotHeight))\" stroke=\"#111827\"/>\n"
        s += "<line x1=\"\(f(left))\" y1=\"\(f(plotTop + plotHeight))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(plotTop + plotHeight))\" stroke=\"#111827\"/>\n"
        let yMid = plotTop + plotHeight / 2
        s += "<text x=\"\(f(x0 + 22))\" y=\"\(f(yMid))\" font-size=\"12\" text-anchor=\"middle\" fill=\"#111827\" "
            + "transform=\"rotate(-90 \(f(x0 + 22)) \(f(yMid)))\">\(esc(c.yLabel + (axis.log ? " (log scale)" : "")))</text>\n"
        // Bars, grouped by category, one slot per series.
        let used = Double(c.categories.count) * (groupWidth + groupGap) + groupGap
        let offset = max(shift, (plotWidth - used) / 2)
        for (ci, cat) in c.categories.enumerated() {
            let gx = left + offset + groupGap + Double(ci) * (groupWidth + groupGap)
            for b in c.bars where b.category == cat {
                let si = Double(c.series.firstIndex(of: b.series) ?? 0)
                let h = axis.fraction(b.value) * plotHeight
                let x = gx + si * barWidth
                s += "<rect class=\"bar\" data-chart=\"\(c.id.hasPrefix("rpcs") ? "rpcs" : "throughput")\" "
                    + "data-scenario=\"\(esc(c.scenario))\" x=\"\(f(x + 1))\" y=\"\(f(plotTop + plotHeight - h))\" "
                    + "width=\"\(f(barWidth - 2))\" height=\"\(f(h))\" fill=\"\(color(b.series))\"><title>\(esc(b.tooltip))</title></rect>\n"
                if barWidth >= 16 {
                    let label = axis.valueLabel(b.value)
                    let turned = Double(label.count) * 5.6 > barWidth - 4  // wider than its bar: written upwards
                    let length = Double(label.count) * 5.6 + 8
                    if turned && h > length {
                        // Inside the top of a tall bar, downwards, so it never runs into the title above the plot.
                        let lx = x + barWidth / 2 + 3, ly = plotTop + plotHeight - h + 4
                        s += "<text x=\"\(f(lx))\" y=\"\(f(ly))\" font-size=\"9\" text-anchor=\"end\" fill=\"#ffffff\" "
                            + "transform=\"rotate(-90 \(f(lx)) \(f(ly)))\">\(esc(label))</text>\n"
                    } else {
                        s += text(x + barWidth / 2 + (turned ? 3 : 0), plotTop + plotHeight - h - 4, label, size: 9, anchor: "middle",
                                  fill: "#111827", rotate: turned)
                    }
                }
            }
            let lx = gx + groupWidth / 2, ly = plotTop + plotHeight + 14
            if rotate {
                s += "<text x=\"\(f(lx))\" y=\"\(f(ly))\" font-size=\"11\" text-anchor=\"end\" fill=\"#111827\" "
                    + "transform=\"rotate(-40 \(f(lx)) \(f(ly)))\">\(esc(cat))</text>\n"
            } else {
                s += text(lx, ly, cat, size: 11, anchor: "middle")
            }
        }
        s += text(left + plotWidth / 2, plotTop + plotHeight + labelSpace + 20, c.xLabel, size: 12, anchor: "middle", weight: "bold")
        // Legend.
        let lx = left + plotWidth + 20
        s += text(lx, plotTop + 4, "mode", size: 12, weight: "bold")
        for (i, name) in c.series.enumerated() {
            let ly = plotTop + 14 + Double(i) * 20
            s += "<rect x=\"\(f(lx))\" y=\"\(f(ly))\" width=\"14\" height=\"14\" fill=\"\(color(name))\"/>\n"
            s += text(lx + 20, ly + 11, name == "-" ? "(no mode)" : name, size: 12)
        }
        s += "</g>\n"
        return (s, width, height)
    }

    static func color(_ series: String) -> String { palette.first { $0.0 == series }?.1 ?? palette.last!.1 }

    static func f(_ v: Double) -> String { Units.fixed(v, 1) }

    static func text(_ x: Double, _ y: Double, _ s: String, size: Int, anchor: String = "start", weight: String = "normal",
                     fill: String = "#111827", rotate: Bool = false) -> String {
        let t = rotate ? " transform=\"rotate(-90 \(f(x)) \(f(y)))\"" : ""
        let a = rotate ? "start" : anchor
        return "<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(size)\" text-anchor=\"\(a)\" font-weight=\"\(weight)\" fill=\"\(fill)\"\(t)>"
            + esc(s) + "</text>\n"
    }

    /// XML-escapes text and attribute values.
    static func esc(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
