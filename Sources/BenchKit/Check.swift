import Foundation

/// `bench check`: judges a report against threshold rules (DESIGN.md "Gating").
public enum Gate {
    /// One rule's outcome.
    public enum Verdict: String, Sendable { case pass, fail, skipped, error }

    /// A row of the check table.
    public struct Row: Sendable {
        public var name: String
        public var metric: String
        public var measured: Double?
        public var limit: String
        public var verdict: Verdict
        public var note: String
    }

    /// The outcome of a check: its rows and the exit code (0 ok, 2 regression, 1 cannot judge; 1 wins).
    public struct Outcome: Sendable {
        public var rows: [Row]
        public var exitCode: Int32
        public var problems: [String]
    }

    /// A rule file that cannot be used.
    public struct InvalidThresholds: Error, CustomStringConvertible {
        public let description: String
    }

    /// Checks `report` against `thresholds`, with `baseline` for baseline rules; `strict` makes skipped rules errors.
    public static func check(report: JSON, thresholds: JSON, baseline: JSON? = nil, strict: Bool = false) -> Outcome {
        var rows: [Row] = []
        var problems: [String] = []
        guard report["schema"]?.string == reportSchema, let results = report["results"]?.array else {
            return Outcome(rows: [], exitCode: 1, problems: ["the report is not a \(reportSchema) report"])
        }
        let rules: [Rule]
        do { rules = try parseRules(thresholds) } catch {
            return Outcome(rows: [], exitCode: 1, problems: ["\(error)"])
        }
        if !results.contains(where: { $0["status"]?.string == "ok" }) {
            problems.append("the report has no ok result")
        }
        for rule in rules {
            var row = evaluate(rule, results, baseline: baseline?["results"]?.array)
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
        let nameWidth = min(100, max(4, o.rows.map(\.name.count).max() ?? 4))
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
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

    struct Side { var select: JSON; var metric: String }

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
            if let equals { parts.append("== " + JSON.format(equals).replacingOccurrences(of: ".0", with: "")) }
            if let min { parts.append(">= " + Units.fixed(min, min == min.rounded() ? 0 : 2)) }
            if let max { parts.append("<= " + Units.fixed(max, max == max.rounded() ? 0 : 2)) }
            if let tolerance { parts.append("baseline -\(Units.fixed(tolerance * 100, 0))%") }
            return parts.joined(separator: " ")
        }
    }

    static let selectKeys: Set<String> = ["scenario", "server", "params", "status"]

    static func parseSide(_ v: JSON?, _ where_: String) throws(InvalidThresholds) -> Side {
        guard let v, v.object != nil else { throw InvalidThresholds(description: "\(where_): expected an object with select and metric") }
        guard let select = v["select"], let members = select.object else {
            throw InvalidThresholds(description: "\(where_): `select` must be an object")
        }
        for (k, value) in members {
            guard selectKeys.contains(k) else {
                throw InvalidThresholds(description: "\(where_): unknown select key \"\(k)\" (expected scenario, server, params)")
            }
            if k == "params" {
                guard let ps = value.object else { throw InvalidThresholds(description: "\(where_): select.params must be an object") }
                for (pk, pv) in ps {
                    guard ParamKey(rawValue: pk) != nil || ["entries", "link_delay_us", "clients"].contains(pk) else {
                        throw InvalidThresholds(description: "\(where_): unknown parameter \"\(pk)\" in select.params")
                    }
                    guard pv.string != nil || pv.number != nil else {
                        throw InvalidThresholds(description: "\(where_): select.params.\(pk) must be a string or a number")
                    }
                }
            } else if value.string == nil {
                throw InvalidThresholds(description: "\(where_): select.\(k) must be a string")
            }
        }
        guard let metric = v["metric"]?.string, !metric.isEmpty else {
            throw InvalidThresholds(description: "\(where_): `metric` must be a non-empty string")
        }
        return Side(select: select, metric: metric)
    }

    static func parseRules(_ t: JSON) throws(InvalidThresholds) -> [Rule] {
        guard let rules = t["rules"]?.array else { throw InvalidThresholds(description: "thresholds: expected {\"rules\": [...]}") }
        var out: [Rule] = []
        for (i, r) in rules.enumerated() {
            let at = "rule \(i + 1)"
            guard let members = r.object else { throw InvalidThresholds(description: "\(at): expected an object") }
            let known: Set<String> = ["name", "select", "metric", "ratio", "equals", "max", "min", "baseline", "comment"]
            for (k, _) in members where !known.contains(k) {
                throw InvalidThresholds(description: "\(at): unknown key \"\(k)\"")
            }
            guard let name = r["name"]?.string else { throw InvalidThresholds(description: "\(at): `name` must be a string") }
            let where_ = "rule \"\(name)\""
            var rule = Rule(name: name)
            func number(_ key: String) throws(InvalidThresholds) -> Double? {
                guard let v = r[key] else { return nil }
                guard let n = v.number else { throw InvalidThresholds(description: "\(where_): `\(key)` must be a number") }
                return n
            }
            rule.equals = try number("equals")
            rule.max = try number("max")
            rule.min = try number("min")
            if let b = r["baseline"] {
                guard let tol = b["tolerance"]?.number, tol >= 0, tol < 1 else {
                    throw InvalidThresholds(description: "\(where_): baseline must be {\"tolerance\": 0...1}")
                }
                rule.tolerance = tol
            }
            if let ratio = r["ratio"] {
                guard r["select"] == nil, r["metric"] == nil else {
                    throw InvalidThresholds(description: "\(where_): a ratio rule has no top-level select/metric")
                }
                rule.ratio = (try parseSide(ratio["numerator"], where_ + " numerator"), try parseSide(ratio["denominator"], where_ + " denominator"))
            } else {
                rule.single = try parseSide(r, where_)
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

    static func matches(_ select: JSON, _ result: JSON) -> Bool {
        for (k, v) in select.object ?? [] {
            switch k {
            case "server": if result["server"]?["kind"]?.string != v.string { return false }
            case "params":
                for (pk, pv) in v.object ?? [] {
                    guard let actual = result["params"]?[pk], actual == pv || sizeEquals(actual, pv) else { return false }
                }
            default: if result[k] != v { return false }
            }
        }
        return true
    }

    /// "64K" in a rule matches 65536 in a report.
    static func sizeEquals(_ actual: JSON, _ wanted: JSON) -> Bool {
        guard let a = actual.number, let s = wanted.string, let n = Units.parseSize(s) else { return false }
        return a == Double(n)
    }

    enum Lookup { case value(Double, JSON), skipped(String), failed(String), error(String) }

    static func lookup(_ side: Side, _ results: [JSON]) -> Lookup {
        let found = results.filter { matches(side.select, $0) }
        guard !found.isEmpty else { return .skipped("no result matches") }
        guard found.count == 1 else { return .error("\(found.count) results match; a select must match exactly one") }
        let r = found[0]
        switch r["status"]?.string {
        case "failed": return .failed("the matched result failed: \(r["error"]?.string ?? "no error given")")
        case "skipped": return .skipped("the matched result was skipped: \(r["error"]?.string ?? "")")
        default: break
        }
        if side.metric.hasPrefix("rpcs_by_type.") {
            let v = r.at(path: side.metric)?.number ?? 0  // a type never sent is absent: 0
            return .value(v, r)
        }
        guard let v = r.at(path: side.metric)?.number else { return .error("metric \(side.metric) is absent or not a number") }
        return .value(v, r)
    }

    static func evaluate(_ rule: Rule, _ results: [JSON], baseline: [JSON]?) -> Row {
        var row = Row(name: rule.name, metric: rule.single?.metric ?? "ratio", measured: nil, limit: rule.limitText, verdict: .error, note: "")
        let measured: Double
        var matched: JSON?
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
        if let e = rule.equals, abs(measured - e) > 1e-9 * max(1, abs(e)) { ok = false }
        if let m = rule.max, measured > m + 1e-9 * max(1, abs(m)) { ok = false }
        if let m = rule.min, measured < m - 1e-9 * max(1, abs(m)) { ok = false }
        row.verdict = ok ? .pass : .fail
        return row
    }

    /// Flags a regression when the median dropped by more than `tolerance` and the U-test agrees (p < 0.05, >= 5 reps each).
    static func baselineVerdict(_ row: Row, _ side: Side, _ tolerance: Double, _ result: JSON, _ baseline: [JSON]?) -> Row {
        var row = row
        guard let baseline else { row.verdict = .skipped; row.note = "no --baseline given"; return row }
        let selectSame = JSON.object([("scenario", result["scenario"] ?? .null), ("params", result["params"] ?? .null)]
                                     + [("server", result["server"]?["kind"] ?? .null)])
        let old = baseline.filter { matches(selectSame, $0) && $0["params"] == result["params"] && $0["status"]?.string == "ok" }
        guard old.count == 1, let oldMedian = old[0].at(path: side.metric)?.number else {
            row.verdict = .skipped; row.note = "no matching ok result in the baseline"; return row
        }
        let samplesPath = String(side.metric.dropLast(".median".count)) + ".samples"
        let a = old[0].at(path: samplesPath)?.array?.compactMap(\.number) ?? []
        let b = result.at(path: samplesPath)?.array?.compactMap(\.number) ?? []
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
