/// `bench compare OLD NEW`: median deltas of matched results and a Mann-Whitney verdict.
public enum Compare {
    /// One matched result and metric.
    public struct Row: Sendable {
        /// The scenario.
        public var scenario: String
        /// Its parameters as "key=value" words.
        public var params: String
        /// ops_per_s or mib_per_s.
        public var metric: String
        /// The old median.
        public var old: Double
        /// The new median.
        public var new: Double
        /// The U-test's p-value (nil: fewer than 5 samples on a side).
        public var p: Double?
        /// faster, slower or same.
        public var verdict: String
    }

    /// Compares the throughput of every result present and ok in both reports.
    public static func compare(old: Report, new: Report) -> [Row] {
        var rows: [Row] = []
        for n in new.results where n.status == .ok {
            guard let o = old.results.first(where: {
                $0.scenario == n.scenario && $0.params == n.params && $0.server.kind == n.server.kind && $0.status == .ok
            }) else { continue }
            for metric in ["ops_per_s", "mib_per_s"] {
                guard let om = o.distribution(metric)?.median, let nm = n.distribution(metric)?.median else { continue }
                let a = o.samples(metric), b = n.samples(metric)
                var verdict = "same"
                var p: Double?
                if a.count >= 5 && b.count >= 5 {
                    let pv = Statistics.mannWhitneyP(a, b)
                    p = pv
                    if pv < 0.05 { verdict = nm > om ? "faster" : "slower" }
                }
                rows.append(Row(scenario: n.scenario, params: n.params.entries.map { "\($0.0.rawValue)=\($0.1)" }.joined(separator: " "),
                                metric: metric, old: om, new: nm, p: p, verdict: verdict))
            }
        }
        return rows
    }

    /// The comparison as a GitHub-flavoured Markdown table (for pasting into a review).
    public static func renderMarkdown(_ rows: [Row]) -> String {
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        var out = ["| scenario | params | metric | old | new | delta | p | verdict |",
                   "|---|---|---|---:|---:|---:|---:|---|"]
        for r in rows {
            let delta = r.old != 0 ? (r.new / r.old - 1) * 100 : 0
            let verdict = r.verdict == "same" ? "same" : "**\(r.verdict)**"
            out.append("| \(cell(r.scenario)) | \(cell(r.params)) | \(r.metric) | \(Units.fixed(r.old, 1)) | \(Units.fixed(r.new, 1)) | "
                       + "\((delta >= 0 ? "+" : "") + Units.fixed(delta, 1))% | \(r.p.map { Units.fixed($0, 3) } ?? "-") | \(verdict) |")
        }
        out.append("")
        out.append(summary(rows))
        return out.joined(separator: "\n")
    }

    static func summary(_ rows: [Row]) -> String {
        "\(rows.count) rows: \(rows.filter { $0.verdict == "faster" }.count) faster, "
            + "\(rows.filter { $0.verdict == "slower" }.count) slower, \(rows.filter { $0.verdict == "same" }.count) same"
    }

    /// The comparison table.
    public static func render(_ rows: [Row]) -> String {
        func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
            let f = String(repeating: " ", count: max(0, w - s.count))
            return right ? f + s : s + f
        }
        var out = [pad("scenario", 16) + " " + pad("params", 58) + " " + pad("metric", 9) + " " + pad("old", 12, right: true) + " "
                   + pad("new", 12, right: true) + " " + pad("delta", 8, right: true) + " " + pad("p", 7, right: true) + "  verdict"]
        for r in rows {
            let delta = r.old != 0 ? (r.new / r.old - 1) * 100 : 0
            out.append(pad(r.scenario, 16) + " " + pad(r.params, 58) + " " + pad(r.metric, 9) + " "
                       + pad(Units.fixed(r.old, 1), 12, right: true) + " " + pad(Units.fixed(r.new, 1), 12, right: true) + " "
                       + pad((delta >= 0 ? "+" : "") + Units.fixed(delta, 1) + "%", 8, right: true) + " "
                       + pad(r.p.map { Units.fixed($0, 3) } ?? "-", 7, right: true) + "  " + r.verdict)
        }
        out.append(summary(rows))
        return out.joined(separator: "\n")
    }
}
