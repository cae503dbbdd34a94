/// `bench check`: judges a report against threshold rules (DESIGN.md "Gating").
public enum Gate {
    /// One rule's outcome.
    public enum Verdict: String, Sendable { case pass, fail, skipped, error }

    /// A row of the check table.
    public struct Row: Sendable {
        /// The rule's name.
        public var name: String
        /// The metric judged ("ratio ..." for a ratio rule).
        public var metric: String
        /// The value measured (nil when none could be read).
        public var measured: Double?
        /// The limit as text ("== 11", "<= 2").
        public var limit: String
        /// pass, fail, skipped or error.
        public var verdict: Verdict
        /// Why, when not a plain pass or fail.
        public var note: String
    }

    /// The outcome of a check: its rows and the exit code (0 ok, 2 regression, 1 cannot judge; 1 wins).
    public struct Outcome: Sendable {
        /// One row per rule, in file order.
        public var rows: [Row]
        /// What `bench check` exits with.
        public var exitCode: Int32
        /// What keeps the report from being judged at all.
        public var problems: [String]
    }

    /// A rule that decodes but cannot be used (a missing limit, a ratio with a top-level select, ...).
    public struct InvalidThresholds: Error, CustomStringConvertible {
        /// Which rule and what is wrong with it.
        public let description: String
    }

    /// Checks `report` against `thresholds`, with `baseline` for baseline rules; `strict` makes skipped rules errors.
    public static func check(report: Report, thresholds: Thresholds, baseline: Report? = nil, strict: Bool = false) -> Outcome {
        check(reports: [report], thresholds: thresholds, baseline: baseline, strict: strict)
    }

    /// Checks the results of all `reports` together (a rule's select runs over their union, so one check judges the
    /// builtin and the diod runs of CI), with `baseline` for baseline rules; `strict` makes skipped rules errors.
    public static func check(reports: [Report], thresholds: Thresholds, baseline: Report? = nil, strict: Bool = false) -> Outcome {
        var rows: [Row] = []
        var problems: [String] = []
        guard !reports.isEmpty, reports.allSatisfy({ $0.schema == reportSchema }) else {
            return Outcome(rows: [], exitCode: 1, problems: ["the report is not a \(reportSchema) report"])
        }
        let rules: [Rule]
        do { rules = try self.rules(thresholds) } catch {
            return Outcome(rows: [], exitCode: 1, problems: ["\(error)"])
        }
        let results = reports.flatMap(\.results)
        if !results.contains(where: { $0.status == .ok }) {
            problems.append("the report has no ok result")
        }
        for rule in rules {
            var row = evaluate(rule, results, baseline: baseline?.results)
            if strict && row.verdict == .skipped {
                row.verdict = .error
                row.note = "skipped under --strict: " + row.note
            }
            rows.append(row)
        }
        let error = !problems.isEmpty || rows.contains { $0.verdict == .error }
        let fail = rows.contains { $0.verdict == .fail }
        return Outcome(rows: rows, exitCode: error ? 1 : (fail ? 2 : 0), problems: problems)
    }

    /// The check table as text.
    public static func render(_ o: Outcome) -> String {
        var lines: [String] = []
        let nameWidth = Swift.min(100, Swift.max(4, o.rows.map(\.name.count).max() ?? 4))
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: Swift.max(0, w - s.count)) }
        lines.append(pad("rule", nameWidth) + "  " + pad("metric", 30) + "  " + pad("measured", 12) + "  " + pad("limit", 14) + "  verdict")
        for r in o.rows {
            let m = r.measured.map { Units.fixed($0, abs($0) >= 100 ? 1 : 3) } ?? "-"
            lines.append(pad(r.name, nameWidth) + "  " + pad(r.metric, 30) + "  " + pad(m, 12) + "  " + pad(r.limit, 14) + "  "
                         + r.verdict.rawValue + (r.note.isEmpty ? "" : "  (\(r.note))"))
        }
        for p in o.problems { lines.append("error: \(p)") }
        let counts = Dictionary(grouping: o.rows, by: \.verdict).mapValues(\.count)
        lines.append("\(o.rows.count) rules: \(counts[.pass] ?? 0) pass, \(counts[.fail] ?? 0) fail, "
                     + "\(counts[.skipped] ?? 0) skipped, \(counts[.error] ?? 0) error -> exit \(o.exitCode)")
        return lines.joined(separator: "\n")
    }

    // MARK: rules

    struct Side { var select: ResultSelector; var metric: String }

    struct Rule {
        var name: String
        var single: Side?
        var ratio: (numerator: Side, denominator: Side)?
        var equals: Double?
        var max: Double?
        var min: Double?
        /// Baseline rule: relative tolerance on the median (a throughput metric), U-test confirmed.
        var tolerance: Double?

        var limitText: String {
            var parts: [String] = []
            if let equals { parts.append("== " + CSVReport.number(equals).replacingOccurrences(of: ".0", with: "")) }
            if let min { parts.append(">= " + Units.fixed(min, min == min.rounded() ? 0 : 2)) }
            if let max { parts.append("<= " + Units.fixed(max, max == max.rounded() ? 0 : 2)) }
            if let tolerance { parts.append("baseline -\(Units.fixed(tolerance * 100, 0))%") }
            return parts.joined(separator: " ")
        }
    }

    /// Parameter names a selector may use beyond `ParamKey`'s (DESIGN.md lists them for scenarios to come).
    static let futureParams: Set<String> = ["link_delay_us", "clients"]

    static func side(_ select: ResultSelector?, _ metric: String?, _ where_: String) throws(InvalidThresholds) -> Side {
        guard let select else { throw InvalidThresholds(description: "\(where_): `select` must be an object") }
        for name in (select.params ?? [:]).keys.sorted() where ParamKey(rawValue: name) == nil && !futureParams.contains(name) {
            throw InvalidThresholds(description: "\(where_): unknown parameter \"\(name)\" in select.params")
        }
        guard let metric, !metric.isEmpty else {
            throw InvalidThresholds(description: "\(where_): `metric` must be a non-empty string")
        }
        do { try ResultRecord.validateMetric(metric) } catch { throw InvalidThresholds(description: "\(where_): \(error)") }
        return Side(select: select, metric: metric)
    }

    /// The usable rules of `t`, in file order; the error names the first rule that cannot be used.
    static func rules(_ t: Thresholds) throws(InvalidThresholds) -> [Rule] {
        var out: [Rule] = []
        for r in t.rules {
            let where_ = "rule \"\(r.name)\""
            var rule = Rule(name: r.name, equals: r.equals, max: r.max, min: r.min)
            if let b = r.baseline {
                guard b.tolerance >= 0, b.tolerance < 1 else {
                    throw InvalidThresholds(description: "\(where_): baseline must be {\"tolerance\": 0...1}")
                }
                rule.tolerance = b.tolerance
            }
            if let ratio = r.ratio {
                guard r.select == nil, r.metric == nil else {
                    throw InvalidThresholds(description: "\(where_): a ratio rule has no top-level select/metric")
                }
                guard let n = ratio.numerator, let d = ratio.denominator else {
                    throw InvalidThresholds(description: "\(where_): a ratio needs a numerator and a denominator, each with select and metric")
                }
                rule.ratio = (try side(n.select, n.metric, where_ + " numerator"), try side(d.select, d.metric, where_ + " denominator"))
            } else {
                rule.single = try side(r.select, r.metric, where_)
            }
            if rule.tolerance != nil {
                guard rule.ratio == nil, let m = rule.single?.metric, m.hasPrefix("throughput."), m.hasSuffix(".median") else {
                    throw InvalidThresholds(description: "\(where_): a baseline rule needs a throughput.<x>.median metric")
                }
            } else if rule.equals == nil && rule.max == nil && rule.min == nil {
                throw InvalidThresholds(description: "\(where_): needs one of equals, max, min (or baseline)")
            }
            out.append(rule)
        }
        return out
    }

    // MARK: evaluation

    enum Lookup { case value(Double, ResultRecord), skipped(String), failed(String), error(String) }

    static func lookup(_ side: Side, _ results: [ResultRecord]) -> Lookup {
        let found = results.filter { side.select.matches($0) }
        guard !found.isEmpty else { return .skipped("no result matches") }
        guard found.count == 1 else { return .error("\(found.count) results match; a select must match exactly one") }
        let r = found[0]
        switch r.status {
        case .failed: return .failed("the matched result failed: \(r.error ?? "no error given")")
        case .skipped: return .skipped("the matched result was skipped: \(r.error ?? "")")
        case .ok: break
        }
        if side.metric.hasPrefix("rpcs_by_type.") {
            return .value(r.metric(side.metric) ?? 0, r)  // a (validated) type never sent is absent: 0
        }
        guard let v = r.metric(side.metric) else { return .error("metric \(side.metric) is absent or not a number") }
        return .value(v, r)
    }

    static func evaluate(_ rule: Rule, _ results: [ResultRecord], baseline: [ResultRecord]?) -> Row {
        var row = Row(name: rule.name, metric: rule.single?.metric ?? "ratio", measured: nil, limit: rule.limitText, verdict: .error, note: "")
        let measured: Double
        var matched: ResultRecord?
        if let (num, den) = rule.ratio {
            row.metric = "ratio " + num.metric.split(separator: ".").prefix(2).joined(separator: ".")
            let a = lookup(num, results), b = lookup(den, results)
            for l in [a, b] {
                if case let .error(e) = l { row.note = e; return row }
            }
            for l in [a, b] {
                if case let .failed(e) = l { row.verdict = .fail; row.note = e; return row }
            }
            for l in [a, b] {
                if case let .skipped(e) = l { row.verdict = .skipped; row.note = e; return row }
            }
            guard case let .value(x, _) = a, case let .value(y, _) = b else { return row }
            guard y != 0 else { row.note = "the denominator is 0"; return row }
            measured = x / y
        } else if let side = rule.single {
            switch lookup(side, results) {
            case let .error(e): row.note = e; return row
            case let .failed(e): row.verdict = .fail; row.note = e; return row
            case let .skipped(e): row.verdict = .skipped; row.note = e; return row
            case let .value(v, r): measured = v; matched = r
            }
        } else {
            return row
        }
        row.measured = measured
        if let tolerance = rule.tolerance, let side = rule.single, let matched {
            return baselineVerdict(row, side, tolerance, matched, baseline)
        }
        var ok = true
        if let e = rule.equals, abs(measured - e) > 1e-9 * Swift.max(1, abs(e)) { ok = false }
        if let m = rule.max, measured > m + 1e-9 * Swift.max(1, abs(m)) { ok = false }
        if let m = rule.min, measured < m - 1e-9 * Swift.max(1, abs(m)) { ok = false }
        row.verdict = ok ? .pass : .fail
        return row
    }

    /// Flags a regression when the median dropped by more than `tolerance` and the U-test agrees (p < 0.05, >= 5 reps each).
    static func baselineVerdict(_ row: Row, _ side: Side, _ tolerance: Double, _ result: ResultRecord, _ baseline: [ResultRecord]?) -> Row {
        var row = row
        guard let baseline else { row.verdict = .skipped; row.note = "no --baseline given"; return row }
        let old = baseline.filter { $0.isOkTwin(of: result) }
        guard old.count == 1, let oldMedian = old[0].metric(side.metric) else {
            row.verdict = .skipped; row.note = "no matching ok result in the baseline"; return row
        }
        // "throughput.<x>.median": the samples of <x>.
        let distribution = String(side.metric.split(separator: ".")[1])
        let a = old[0].samples(distribution), b = result.samples(distribution)
        row.limit = ">= \(Units.fixed(oldMedian * (1 - tolerance), 1)) (baseline \(Units.fixed(oldMedian, 1)))"
        let measured = row.measured ?? 0
        guard measured < oldMedian * (1 - tolerance) else { row.verdict = .pass; return row }
        guard a.count >= 5, b.count >= 5 else {
            row.verdict = .pass; row.note = "slower but fewer than 5 repetitions: not flagged"; return row
        }
        let p = Statistics.mannWhitneyP(a, b)
        row.note = "U-test p=\(Units.fixed(p, 4))"
        row.verdict = p < 0.05 ? .fail : .pass
        return row
    }
}
