import Glibc

/// `bench compare OLD NEW`: median ratios of matched results with a 95% confidence interval and a verdict that needs
/// a Mann-Whitney U test (p < 0.05) and an interval wholly beyond a change of `minChange`, both judged on round means;
/// the interval is widened by how much neighbouring rounds moved together (their lag-1 autocorrelation).
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
        /// The U-test's p-value over the round means (nil: fewer than 5 on a side).
        public var p: Double?
        /// The 95% confidence interval of the ratio new/old, from the round means (nil: too few).
        public var interval: (low: Double, high: Double)?
        /// Repetitions of the old and the new result.
        public var repetitions: (old: Int, new: Int)
        /// faster, slower or same.
        public var verdict: String
        /// The values the test judges (old, new): each run's round means.
        public internal(set) var units: (old: [Double], new: [Double]) = ([], [])
        /// The lag-1 autocorrelation of the round means, the larger of the two sides' (each pooled over its runs):
        /// how much neighbouring rounds moved together, which widens `interval`.
        public internal(set) var autocorrelation = 0.0

        /// new / old (1 when both are 0).
        public var ratio: Double { Compare.ratio(old: old, new: new) }
    }

    /// The rows of a comparison and what limits what they can tell.
    public struct Outcome: Sendable {
        /// One row per matched result and metric.
        public var rows: [Row]
        /// Notes for the reader (too few repetitions to see small changes).
        public var warnings: [String]
    }

    /// Fewer round means than this on a side get a warning: the U test then sees only large changes.
    public static let recommendedRepetitions = 9
    /// The default smallest median change (fraction) that can be called faster or slower.
    public static let defaultMinChange = 0.05

    /// Compares one report with another; see `compare(old:new:minChange:)` for sides of several runs.
    public static func compare(old: Report, new: Report, minChange: Double = defaultMinChange) -> [Row] {
        compare(old: [old], new: [new], minChange: minChange)
    }

    /// Compares the throughput of every result ok in the first report of each side. A side may hold several runs (made
    /// in alternation with the other side's, A B A B): a result's samples are those of every run that has it ok.
    ///
    /// The test and the interval take one value per round, the mean of its repetitions: the repetitions of a round run
    /// back to back in one state of the machine, so they are not independent draws, and counting each would make the
    /// interval narrower than the run-to-run truth. Rounds are not independent either when the machine holds a state for
    /// several of them (a VM's phases last seconds to tens of seconds): the interval is widened by the AR(1) variance
    /// inflation of the round means' lag-1 autocorrelation (`Statistics.autocorrelationWidening`), so a few slow rounds
    /// in a row count as one slow stretch. A median change smaller than `minChange` (a fraction), or equal medians, is
    /// `same` whatever the U test says.
    public static func compare(old: [Report], new: [Report], minChange: Double = defaultMinChange) -> [Row] {
        guard let first = new.first, let oldFirst = old.first else { return [] }
        var rows: [Row] = []
        for n in first.results where n.status == .ok {
            guard let o = oldFirst.results.first(where: { $0.isOkTwin(of: n) }) else { continue }
            for metric in ["ops_per_s", "mib_per_s"] {
                let a = side(old, of: o, metric), b = side(new, of: n, metric)
                guard let om = Statistics.median(a.samples), let nm = Statistics.median(b.samples) else { continue }
                var row = Row(scenario: n.scenario, params: n.params.entries.map { "\($0.0.rawValue)=\($0.1)" }.joined(separator: " "),
                              metric: metric, old: om, new: nm, p: nil, interval: nil, repetitions: (a.samples.count, b.samples.count),
                              verdict: "same", units: (a.units, b.units))
                row.autocorrelation = max(Statistics.lagOneAutocorrelation(a.series), Statistics.lagOneAutocorrelation(b.series))
                let widening = Statistics.autocorrelationWidening(row.autocorrelation)
                if let ci = interval(a.units, b.units, widening: widening) { row.interval = (ci.low, ci.high) }
                (row.p, row.verdict) = judge(a.units, b.units, old: om, new: nm, minChange: minChange, interval: row.interval)
                rows.append(row)
            }
        }
        return rows
    }

    /// A result's `metric` samples over the runs of one side, and their round means (each run's by its own rounds),
    /// also run by run in run order.
    static func side(_ reports: [Report], of result: ResultRecord, _ metric: String)
        -> (samples: [Double], units: [Double], series: [[Double]]) {
        var samples: [Double] = [], series: [[Double]] = []
        for report in reports {
            guard let twin = report.results.first(where: { $0.isOkTwin(of: result) }) else { continue }
            let s = twin.samples(metric)
            samples += s
            series.append(Statistics.roundMeans(s, rounds: report.context.rounds))
        }
        return (samples, series.flatMap { $0 }, series)
    }

    /// The 95% interval of new/old from the round means, widened in log scale by `widening` about its estimate.
    static func interval(_ a: [Double], _ b: [Double], widening: Double) -> (estimate: Double, low: Double, high: Double)? {
        guard let ci = Statistics.ratioInterval(a, b) else { return nil }
        let e = log(ci.estimate)
        return (ci.estimate, exp(e - (e - log(ci.low)) * widening), exp(e + (log(ci.high) - e) * widening))
    }

    /// The U test's p (nil below 5 values on a side) and the verdict: faster or slower only with p < 0.05, different
    /// medians, a median change of at least `minChange`, and `ci`, the row's 95% interval of the ratio (`interval`,
    /// widened for rounds that moved together), wholly beyond that change (as criterion.rs's noise threshold: a change
    /// the interval allows to be smaller is not called).
    static func judge(_ a: [Double], _ b: [Double], old: Double, new: Double, minChange: Double,
                      interval ci: (low: Double, high: Double)?) -> (p: Double?, verdict: String) {
        guard a.count >= 5 && b.count >= 5 else { return (nil, "same") }
        let p = Statistics.mannWhitneyP(a, b)
        guard p < 0.05 && new != old && abs(ratio(old: old, new: new) - 1) >= minChange, let ci else { return (p, "same") }
        if new < old && ci.high <= 1 - minChange { return (p, "slower") }
        if new > old && ci.low >= 1 + minChange { return (p, "faster") }
        return (p, "same")
    }

    /// new / old (1 when both are 0).
    static func ratio(old: Double, new: Double) -> Double { old != 0 ? new / old : (new == 0 ? 1 : .infinity) }

    /// Compares one report with another, with warnings; see `outcome(old:new:minChange:)`.
    public static func outcome(old: Report, new: Report, minChange: Double = defaultMinChange) -> Outcome {
        outcome(old: [old], new: [new], minChange: minChange)
    }

    /// `compare` with the warnings a reader needs: sides with fewer than `recommendedRepetitions` round means, and a
    /// shift of the whole machine.
    public static func outcome(old: [Report], new: [Report], minChange: Double = defaultMinChange) -> Outcome {
        let rows = compare(old: old, new: new, minChange: minChange)
        var warnings: [String] = []
        let few = rows.filter { min($0.units.old.count, $0.units.new.count) < recommendedRepetitions }
        if !few.isEmpty {
            let least = few.map { min($0.units.old.count, $0.units.new.count) }.min() ?? 0
            warnings.append("\(few.count) of \(rows.count) rows have fewer than \(recommendedRepetitions) rounds on a side "
                            + "(as few as \(least); a run without --rounds counts each repetition as one): the U test and the 95% "
                            + "interval see only large changes; run both sides with \(recommendedRepetitions) or more rounds "
                            + "(--suite quick and full use 10), or pool runs of each side (A B A B)")
        }
        if let o = old.first?.context.limits, let n = new.first?.context.limits,
           let shift = broadShift(rows, old: o, new: n, minChange: minChange) { warnings.append(shift) }
        return Outcome(rows: rows, warnings: warnings)
    }

    /// Flagged rows that mostly moved one way, this share of them or more, read as a shift of the whole machine.
    static let broadShiftShare = 0.8

    /// A warning when at least 10 rows are flagged and `broadShiftShare` of them moved the same way: a code change
    /// rarely speeds up or slows down every scenario alike, while a VM's CPU share, frequency or placement does. It
    /// names the median change of every row and how the runs' own limits moved, so the reader can tell the two apart,
    /// and the rows that moved beyond that shared change (the new samples divided by it, judged as before). The
    /// verdicts themselves stay as measured: a change that slows every op alike must still fail `--fail-on-slower`.
    static func broadShift(_ rows: [Row], old: Limits, new: Limits, minChange: Double) -> String? {
        let flagged = rows.filter { $0.verdict != "same" }
        guard flagged.count >= 10 else { return nil }
        let slower = flagged.filter { $0.verdict == "slower" }.count
        let same = max(slower, flagged.count - slower)
        guard Double(same) >= broadShiftShare * Double(flagged.count),
              let median = Statistics.median(rows.map(\.ratio).filter(\.isFinite)) else { return nil }
        func moved(_ name: String, _ a: Double?, _ b: Double?, _ unit: String) -> String? {
            guard let a, let b, a > 0 else { return nil }
            return "\(name) \(Units.fixed(a, 1)) -> \(Units.fixed(b, 1)) \(unit) (\(Units.fixed((b / a - 1) * 100, 1))%)"
        }
        let limits = [moved("socket round trip", old.socketRTTus, new.socketRTTus, "us"),
                      moved("same-CPU round trip", old.socketRTTSameCPUus, new.socketRTTSameCPUus, "us"),
                      moved("memcpy", old.memcpyGiBs, new.memcpyGiBs, "GiB/s")].compactMap { $0 }
        return "\(same) of \(flagged.count) flagged rows moved the same way (\(slower == same ? "slower" : "faster"); "
            + "median change of all rows \(Units.fixed((median - 1) * 100, 1))%): a shift this broad is usually the machine "
            + "(CPU share, frequency, placement), not the code"
            + (limits.isEmpty ? "" : "; the runs' limits: " + limits.joined(separator: ", "))
            + "; " + beyondShared(rows, shift: median, minChange: minChange)
            + "; re-run both sides back to back in alternation (A B A B) and compare them pooled (bench compare A1,A2 B1,B2) "
            + "before drawing conclusions"
    }

    /// The rows that moved beyond a change `shift` every row shared, as text (at most 5 named).
    static func beyondShared(_ rows: [Row], shift: Double, minChange: Double) -> String {
        let moved = rows.filter { r in
            guard shift > 0, r.old != 0 else { return false }
            // Dividing the new values by `shift` divides the ratio's interval by it too (it is a shift of logarithms).
            return judge(r.units.old, r.units.new.map { $0 / shift }, old: r.old, new: r.new / shift, minChange: minChange,
                         interval: r.interval.map { ($0.low / shift, $0.high / shift) }).verdict != "same"
        }
        let named = moved.prefix(5).map { r in
            "\(r.scenario) \(r.params) \(r.metric) \(Units.fixed((r.ratio / shift - 1) * 100, 1))%"
        }
        return "beyond that shared change, \(moved.count) of \(rows.count) rows moved on their own"
            + (named.isEmpty ? "" : ": " + named.joined(separator: ", ") + (moved.count > named.count ? ", ..." : ""))
    }

    /// "0.93 [0.91, 0.95]": the ratio with its 95% interval ("-" without one).
    static func ratioText(_ r: Row) -> String {
        let ratio = r.ratio.isFinite ? Units.fixed(r.ratio, 3) : "-"
        guard let ci = r.interval else { return ratio + " [-]" }
        return ratio + " [" + Units.fixed(ci.low, 3) + ", " + Units.fixed(ci.high, 3) + "]"
    }

    static func deltaText(_ r: Row) -> String {
        let delta = r.old != 0 ? (r.new / r.old - 1) * 100 : 0
        return (delta >= 0 ? "+" : "") + Units.fixed(delta, 1) + "%"
    }

    /// The comparison as a GitHub-flavoured Markdown table (for pasting into a review).
    public static func renderMarkdown(_ rows: [Row], warnings: [String] = [], minChange: Double = defaultMinChange) -> String {
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        var out = ["| scenario | params | metric | old | new | delta | p | verdict | new/old (95% CI) |",
                   "|---|---|---|---:|---:|---:|---:|---|---:|"]
        for r in rows {
            let verdict = r.verdict == "same" ? "same" : "**\(r.verdict)**"
            out.append("| \(cell(r.scenario)) | \(cell(r.params)) | \(r.metric) | \(Units.fixed(r.old, 1)) | \(Units.fixed(r.new, 1)) | "
                       + "\(deltaText(r)) | \(r.p.map { Units.fixed($0, 3) } ?? "-") | \(verdict) | \(ratioText(r)) |")
        }
        out.append("")
        out.append(summary(rows, minChange: minChange))
        for w in warnings { out.append("") ; out.append("warning: " + w) }
        return out.joined(separator: "\n")
    }

    static func summary(_ rows: [Row], minChange: Double) -> String {
        "\(rows.count) rows: \(rows.filter { $0.verdict == "faster" }.count) faster, "
            + "\(rows.filter { $0.verdict == "slower" }.count) slower, \(rows.filter { $0.verdict == "same" }.count) same "
            + "(faster/slower: U-test p < 0.05 over round means and a 95% interval wholly beyond a change of "
            + "\(Units.fixed(minChange * 100, 1))%)"
    }

    /// The comparison table.
    public static func render(_ rows: [Row], warnings: [String] = [], minChange: Double = defaultMinChange) -> String {
        func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
            let f = String(repeating: " ", count: max(0, w - s.count))
            return right ? f + s : s + f
        }
        var out = [pad("scenario", 16) + " " + pad("params", 58) + " " + pad("metric", 9) + " " + pad("old", 12, right: true) + " "
                   + pad("new", 12, right: true) + " " + pad("delta", 8, right: true) + " " + pad("new/old [95% CI]", 22, right: true)
                   + " " + pad("p", 7, right: true) + "  verdict"]
        for r in rows {
            out.append(pad(r.scenario, 16) + " " + pad(r.params, 58) + " " + pad(r.metric, 9) + " "
                       + pad(Units.fixed(r.old, 1), 12, right: true) + " " + pad(Units.fixed(r.new, 1), 12, right: true) + " "
                       + pad(deltaText(r), 8, right: true) + " " + pad(ratioText(r), 22, right: true) + " "
                       + pad(r.p.map { Units.fixed($0, 3) } ?? "-", 7, right: true) + "  " + r.verdict)
        }
        out.append(summary(rows, minChange: minChange))
        for w in warnings { out.append("warning: " + w) }
        return out.joined(separator: "\n")
    }
}
