/// `report.svg`, second part: median latency against the link's one-way delay, one line per configuration, for the
/// scenarios where distance shows (stat, open-read-close). The slope of a line is about 2 x its RPCs per op: every
/// RPC pays the round trip, which is why fewer RPCs win.
extension Plot {
    /// Scenarios that get a latency-vs-delay chart when their results span at least two link delays.
    static let linkDelayScenarios = ["stat", "open-read-close"]

    /// Line colours (Okabe-Ito); after eight, lines repeat them dashed.
    static let linePalette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

    /// One configuration's line: the points (delay µs, median latency µs) and its legend label.
    struct DelayLine {
        var label: String
        var points: [(x: Double, y: Double, tooltip: String)]
    }

    /// One latency-vs-delay chart.
    struct DelayChart {
        var scenario: String
        var subtitle: String
        var lines: [DelayLine]
        var delays: [Double]
    }

    /// Adds the latency-vs-delay charts below the bar charts (nothing when no scenario spans two link delays).
    static func appendLinkDelayCharts(_ report: Report, to body: inout String, y: inout Double, width: inout Double) {
        for chart in makeDelayCharts(report) {
            let (svg, w, h) = drawDelayChart(chart, top: y)
            body += svg
            width = max(width, w)
            body += "<line x1=\"20\" y1=\"\(f(y + h + 12))\" x2=\"\(f(w - 20))\" y2=\"\(f(y + h + 12))\" stroke=\"#D1D5DB\"/>\n"
            y += h + 24
        }
    }

    /// The charts' data: per scenario, the ok results with a link delay and a median latency, grouped into lines by
    /// every other parameter (and the server kind when several answered).
    static func makeDelayCharts(_ report: Report) -> [DelayChart] {
        var charts: [DelayChart] = []
        for scenario in linkDelayScenarios {
            let rs = report.results.filter {
                $0.scenario == scenario && $0.status == .ok && $0.params[.linkDelay] != nil && $0.latency?.p50 != nil
            }
            let delays = Set(rs.compactMap { $0.params[.linkDelay]?.intValue })
            guard delays.count >= 2 else { continue }
            let servers = Set(rs.map(\.server.kind))
            let keys = (rs.first?.params.entries.map(\.0) ?? []).filter { $0 != .linkDelay }
            var varying: [ParamKey] = [], fixed: [String] = []
            for k in keys {
                let values = Set(rs.map { $0.params[k].map { valueText(k, $0) } ?? "" })
                if values.count > 1 { varying.append(k) } else if let v = values.first { fixed.append("\(k.rawValue)=\(v)") }
            }
            func label(_ r: ResultRecord) -> String {
                var parts = varying.map { k -> String in
                    let v = r.params[k].map { valueText(k, $0) } ?? "-"
                    return k.choices != nil ? v : "\(k.rawValue)=\(v)"
                }
                if servers.count > 1 { parts.insert(r.server.kind, at: 0) }
                return parts.isEmpty ? scenario : parts.joined(separator: " ")
            }
            var order: [String] = []
            var byLabel: [String: [ResultRecord]] = [:]
            for r in rs {
                let l = label(r)
                if byLabel[l] == nil { order.append(l) }
                byLabel[l, default: []].append(r)
            }
            let lines = order.map { l -> DelayLine in
                let members = byLabel[l]!.sorted { $0.params.int(.linkDelay) < $1.params.int(.linkDelay) }
                let rpcs = members.compactMap(\.rpcsPerOp)
                let rpcText = rpcs.isEmpty ? "" : " (\(Units.fixed(rpcs.reduce(0, +) / Double(rpcs.count), 1)) RPCs/op)"
                let points = members.map { r -> (x: Double, y: Double, tooltip: String) in
                    let d = Double(r.params.int(.linkDelay)), p50 = Double(r.latency!.p50!) / 1000
                    return (d, p50, "\(scenario) \(l) link_delay_us=\(Int(d)): p50 \(Units.fixed(p50, 1)) us\(rpcText)")
                }
                return DelayLine(label: l + rpcText, points: points)
            }
            var sub = "server: " + servers.sorted().joined(separator: ", ") + "; slope ~ 2 x RPCs/op"
            if !fixed.isEmpty { sub += "; fixed: " + fixed.joined(separator: " ") }
            charts.append(DelayChart(scenario: scenario, subtitle: sub, lines: lines, delays: delays.sorted().map(Double.init)))
        }
        return charts
    }

    /// Draws a latency-vs-delay chart with its top at `top`; returns the SVG, its width and height.
    static func drawDelayChart(_ c: DelayChart, top: Double) -> (String, Double, Double) {
        let left = 86.0, plotTop = top + 46, plotWidth = 520.0
        let plotHeight = max(240.0, Double(c.lines.count) * 18 + 10)
        let legendWidth = 20 + 7.0 * Double(c.lines.map(\.label.count).max() ?? 10)
        let width = left + plotWidth + 30 + legendWidth
        let height = (plotTop - top) + plotHeight + 56
        let maxDelay = c.delays.last ?? 1
        // Milliseconds once the latencies reach 10 ms: "150k us" reads worse than "150 ms".
        let inMs = (c.lines.flatMap { $0.points.map(\.y) }.max() ?? 0) >= 10_000
        let unit = inMs ? "ms" : "us", scale = inMs ? 1000.0 : 1
        let yAxis = Axis(values: c.lines.flatMap { $0.points.map { $0.y / scale } }, allowLog: false)
        func px(_ d: Double) -> Double { left + (maxDelay > 0 ? d / maxDelay : 0) * plotWidth }
        func py(_ v: Double) -> Double { plotTop + plotHeight - yAxis.fraction(v / scale) * plotHeight }
        let id = "latency-vs-delay-" + String(c.scenario.map { $0.isLetter || $0.isNumber ? $0 : "-" })
        var s = "<g class=\"chart\" id=\"\(esc(id))\">\n"
        s += text(20, top + 16, "\(c.scenario): median latency vs one-way link delay (lower is better)", size: 15, weight: "bold")
        s += text(20, top + 34, c.subtitle, size: 12, fill: "#4B5563")
        for t in yAxis.ticks {
            let ty = py(t * scale)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(ty))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(ty))\" stroke=\"#E5E7EB\"/>\n"
            s += text(left - 8, ty + 4, yAxis.label(t), size: 11, anchor: "end", fill: "#374151")
        }
        for d in c.delays {
            s += "<line x1=\"\(f(px(d)))\" y1=\"\(f(plotTop))\" x2=\"\(f(px(d)))\" y2=\"\(f(plotTop + plotHeight))\" stroke=\"#F3F4F6\"/>\n"
            s += text(px(d), plotTop + plotHeight + 16, Axis.trim(Units.fixed(d, 0)), size: 11, anchor: "middle")
        }
        s += "<line x1=\"\(f(left))\" y1=\"\(f(plotTop))\" x2=\"\(f(left))\" y2=\"\(f(plotTop + plotHeight))\" stroke=\"#111827\"/>\n"
        s += "<line x1=\"\(f(left))\" y1=\"\(f(plotTop + plotHeight))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(plotTop + plotHeight))\" stroke=\"#111827\"/>\n"
        let yMid = plotTop + plotHeight / 2
        s += "<text x=\"22\" y=\"\(f(yMid))\" font-size=\"12\" text-anchor=\"middle\" fill=\"#111827\" "
            + "transform=\"rotate(-90 22 \(f(yMid)))\">median latency (\(unit))</text>\n"
        s += text(left + plotWidth / 2, plotTop + plotHeight + 40, "one-way link delay (us), link_delay_us", size: 12,
                  anchor: "middle", weight: "bold")
        for (i, line) in c.lines.enumerated() {
            let color = linePalette[i % linePalette.count]
            let dash = i >= linePalette.count ? " stroke-dasharray=\"6 3\"" : ""
            let pts = line.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            s += "<polyline class=\"series\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash) points=\"\(pts)\"/>\n"
            for p in line.points {
                s += "<circle class=\"point\" data-chart=\"latency-vs-delay\" data-scenario=\"\(esc(c.scenario))\" "
                    + "cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3.5\" fill=\"\(color)\"><title>\(esc(p.tooltip))</title></circle>\n"
            }
            let ly = plotTop + 4 + Double(i) * 18
            let lx = left + plotWidth + 30
            s += "<line x1=\"\(f(lx))\" y1=\"\(f(ly + 5))\" x2=\"\(f(lx + 16))\" y2=\"\(f(ly + 5))\" stroke=\"\(color)\" stroke-width=\"3\"\(dash)/>\n"
            s += text(lx + 22, ly + 9, line.label, size: 11)
        }
        s += "</g>\n"
        return (s, width, height)
    }
}
