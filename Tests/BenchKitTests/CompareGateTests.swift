import BenchKit
import BenchReport
import Foundation
import TestSupport
import XCTest

/// Issue 14: `bench compare` with a minimum effect and a confidence interval; an exact gate whose misspelt rules are
/// errors; one check over several reports.
final class CompareGateTests: XCTestCase {
    /// A report of one null-rpc result whose ops/s samples are `samples`.
    func report(_ samples: [Double], kind: String = "builtin") -> Report {
        var r = ResultRecord(scenario: "null-rpc", params: ParamSet([(.threads, .int(1))]),
                             server: ServerInfo(kind: kind, transport: "socketpair"), status: .ok)
        r.repetitions = samples.count
        r.ops = 100 * samples.count
        r.rpcsPerOp = 1
        r.rpcsByType = ["Tgetattr": 1]
        r.throughput = Throughput(opsPerS: Distribution(samples: samples), mibPerS: nil)
        return Report(context: RunContext.collect(argv: [], seed: 1), results: [r])
    }

    static let steady: [Double] = [1000, 1001, 999, 1002, 998]

    func testA1PercentShiftIsSameAnd10PercentIsSlowerWithItsInterval() throws {
        let base = report(Self.steady)
        // Every new sample below every old one (U-test p = 0.008), but only 1% slower: same by default.
        let onePercent = report(Self.steady.map { $0 * 0.99 })
        let small = try XCTUnwrap(Compare.compare(old: base, new: onePercent).first)
        XCTAssertLessThan(small.p ?? 1, 0.05)
        XCTAssertEqual(small.verdict, "same")
        XCTAssertEqual(Compare.compare(old: base, new: onePercent, minChange: 0.005).first?.verdict, "slower",
                       "a smaller --min-change lets the U test decide")
        let tenPercent = report(Self.steady.map { $0 * 0.9 })
        let big = try XCTUnwrap(Compare.compare(old: base, new: tenPercent).first)
        XCTAssertEqual(big.verdict, "slower")
        XCTAssertEqual(big.ratio, 0.9, accuracy: 1e-12)
        let ci = try XCTUnwrap(big.interval)
        XCTAssertTrue(ci.low <= 0.9 && 0.9 <= ci.high && ci.high < 1, "\(ci)")
        XCTAssertEqual(Compare.compare(old: base, new: report(Self.steady.map { $0 * 1.1 })).first?.verdict, "faster")
        // The rendered row shows the ratio and its interval.
        let text = Compare.render([big])
        XCTAssertTrue(text.contains("0.900 [" + Units.fixed(ci.low, 3) + ", " + Units.fixed(ci.high, 3) + "]"), text)

        let dir = try TemporaryDirectory(prefix: "bench-compare-min")
        defer { dir.remove() }
        let a = try write(base, dir, "a.json"), b = try write(onePercent, dir, "b.json")
        XCTAssertEqual(BenchCLI.main(["compare", a, b, "--fail-on-slower"]), 0)
        XCTAssertEqual(BenchCLI.main(["compare", a, b, "--fail-on-slower", "--min-change", "0.5"]), 2)
        XCTAssertEqual(BenchCLI.main(["compare", a, b, "--min-change", "-1"]), 64)
    }

    func testSeveralReportsOfASideArePooled() throws {
        // A B A B on a drifting machine: the second pair ran 20% slower. Either pair alone calls the other side slower
        // or faster by the drift; pooled, each side holds both machine states and the medians meet.
        let a1 = report(Self.steady), b1 = report(Self.steady.map { $0 * 0.98 })
        let a2 = report(Self.steady.map { $0 * 0.8 }), b2 = report(Self.steady.map { $0 * 0.79 })
        XCTAssertEqual(Compare.compare(old: a1, new: b2).first?.verdict, "slower", "across the drift")
        let row = try XCTUnwrap(Compare.compare(old: [a1, a2], new: [b1, b2]).first)
        XCTAssertEqual(row.repetitions.old, 10)
        XCTAssertEqual(row.repetitions.new, 10)
        XCTAssertEqual(row.verdict, "same")
        XCTAssertTrue(Compare.compare(old: [], new: [b1]).isEmpty)
        // A result the other reports lack keeps its own samples.
        XCTAssertEqual(Compare.compare(old: [a1, report(Self.steady, kind: "diod")], new: [b1]).first?.repetitions.old, 5)

        let dir = try TemporaryDirectory(prefix: "bench-compare-pooled")
        defer { dir.remove() }
        let paths = try [a1, b1, a2, b2].enumerated().map { try write($1, dir, "r\($0).json") }
        XCTAssertEqual(BenchCLI.main(["compare", paths[0], paths[3], "--fail-on-slower"]), 2)
        XCTAssertEqual(BenchCLI.main(["compare", paths[0] + "," + paths[2], paths[1] + "," + paths[3], "--fail-on-slower"]), 0)
        XCTAssertEqual(BenchCLI.main(["compare", paths[0] + "," + dir.path + "/missing.json", paths[1]]), 1)
    }

    /// A report of one null-rpc result from a run of `rounds` rounds.
    func report(_ samples: [Double], rounds: Int) -> Report {
        var r = report(samples)
        r.context = RunContext.collect(argv: [], seed: 1, rounds: rounds)
        return r
    }

    func testTheTestJudgesOneMeanPerRound() throws {
        // 5 rounds of 2 repetitions each, the two of a round alike and the rounds far apart (a machine that ran faster
        // in some rounds than in others). Counted as 10 independent samples, the U test calls the new side slower
        // (p = 0.005); over the 5 round means of each side, whose ranges overlap, it cannot (p = 0.06).
        let old: [Double] = [1000, 1000, 1100, 1100, 1200, 1200, 1300, 1300, 1400, 1400]
        let new: [Double] = [860, 860, 900, 900, 940, 940, 1040, 1040, 1140, 1140]
        XCTAssertEqual(Statistics.roundMeans(old, rounds: 5), [1000, 1100, 1200, 1300, 1400])
        XCTAssertEqual(Statistics.roundMeans([1, 2, 3, 4, 5], rounds: 2), [2, 4.5], "the first round takes the odd one")
        XCTAssertEqual(Statistics.roundMeans([1, 2, 3], rounds: 1), [1, 2, 3])
        let flat = try XCTUnwrap(Compare.compare(old: report(old), new: report(new)).first)
        XCTAssertLessThan(flat.p ?? 1, 0.01)
        XCTAssertGreaterThan(flat.autocorrelation, 0.3, "counted one by one, the alike repetitions of a round move together")
        let rounds = try XCTUnwrap(Compare.compare(old: report(old, rounds: 5), new: report(new, rounds: 5)).first)
        XCTAssertGreaterThan(rounds.p ?? 0, 0.05)
        XCTAssertEqual(rounds.verdict, "same")
        XCTAssertEqual(rounds.old, flat.old, "the medians are still the samples'")
        XCTAssertEqual(rounds.new, flat.new)
        XCTAssertEqual(rounds.repetitions.old, 10)
        // Pooled runs are grouped each by its own rounds: two runs of 5 rounds give 10 round means a side.
        let pooled = try XCTUnwrap(Compare.compare(old: [report(old, rounds: 5), report(old, rounds: 5)],
                                                   new: [report(new, rounds: 5), report(new, rounds: 5)]).first)
        XCTAssertEqual(pooled.units.old, Statistics.roundMeans(old, rounds: 5) + Statistics.roundMeans(old, rounds: 5))
    }

    func testAChangeIsCalledOnlyWhenItsWholeIntervalPassesTheMinimum() throws {
        // 7% slower at the median (p = 0.01), but the interval reaches to about -1%: same. 5% further down, the whole
        // interval is past -5%: slower. (The rounds go up and down, so that no run-long trend widens the interval.)
        let rising = (0..<10).map { 1000 + 10 * Double($0) }
        let risingMixed = rising.enumerated().map { $0.element * ($0.offset % 2 == 0 ? 0.88 : 0.98) }
        let order = [0, 5, 2, 7, 4, 9, 1, 6, 3, 8]
        let old = order.map { rising[$0] }, mixed = order.map { risingMixed[$0] }
        let row = try XCTUnwrap(Compare.compare(old: report(old), new: report(mixed)).first)
        XCTAssertLessThan(row.p ?? 1, 0.05)
        XCTAssertLessThanOrEqual(row.ratio, 0.95)
        let ci = try XCTUnwrap(row.interval)
        XCTAssertGreaterThan(ci.high, 0.95, "\(ci)")
        XCTAssertEqual(row.verdict, "same")
        let further = Compare.compare(old: report(old), new: report(mixed.map { $0 * 0.95 })).first
        XCTAssertEqual(further?.verdict, "slower")
        XCTAssertLessThanOrEqual(further?.interval?.high ?? 1, 0.95)
    }

    func testRoundsThatMoveTogetherWidenTheInterval() throws {
        // The same ten round means on the new side, 22% slower at the median. Interleaved with normal rounds, the slow
        // rounds read as a slowdown: slower. Six in a row then four near normal (a machine that held a slow state for
        // a stretch of the run) move together (lag-1 autocorrelation about 0.7): the interval widens by the AR(1)
        // inflation to reach past 1, and the row is same.
        let old: [Double] = [1000, 1010, 995, 1005, 1000, 1008, 992, 1003, 998, 1006]
        let stretch: [Double] = [780, 783, 780, 783, 780, 783, 940, 944, 940, 944]
        let interleaved: [Double] = [780, 940, 783, 944, 780, 940, 783, 944, 780, 783]
        let spread = try XCTUnwrap(Compare.compare(old: report(old), new: report(interleaved)).first)
        XCTAssertLessThanOrEqual(spread.autocorrelation, 0)
        XCTAssertEqual(spread.verdict, "slower")
        let held = try XCTUnwrap(Compare.compare(old: report(old), new: report(stretch)).first)
        XCTAssertGreaterThan(held.autocorrelation, 0.5)
        XCTAssertEqual(held.p, spread.p, "the U test does not see the order")
        XCTAssertEqual(held.verdict, "same")
        let wide = try XCTUnwrap(held.interval), narrow = try XCTUnwrap(spread.interval)
        XCTAssertLessThan(wide.low, narrow.low)
        XCTAssertGreaterThan(wide.high, 1, "\(wide)")

        XCTAssertEqual(Statistics.lagOneAutocorrelation([[1, 2, 3, 4, 5]]), 0.4, accuracy: 1e-12)
        XCTAssertEqual(Statistics.lagOneAutocorrelation([[1, -1, 1, -1]]), -0.75, accuracy: 1e-12)
        XCTAssertEqual(Statistics.lagOneAutocorrelation([[1, 2, 3, 4], [4, 3, 2, 1]]), 0.25, accuracy: 1e-12,
                       "each run about its own mean, no pair across runs (run together: 0.475)")
        XCTAssertEqual(Statistics.lagOneAutocorrelation([[5, 5, 5], [1, 2]]), 0)
        XCTAssertEqual(Statistics.autocorrelationWidening(-0.5), 1)
        XCTAssertEqual(Statistics.autocorrelationWidening(0.5), 3.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(Statistics.autocorrelationWidening(0.99), 19.0.squareRoot(), accuracy: 1e-12, "capped at 0.9")
    }

    func testEqualMediansAreNeverFasterOrSlower() throws {
        // The U test sees two very different samples (p < 0.05), but the medians are the same 100.
        let old = report([1, 1, 1, 1, 1, 100, 100, 100, 100, 100, 100])
        let new = report([100, 100, 100, 100, 100, 100, 1000, 1000, 1000, 1000, 1000])
        let row = try XCTUnwrap(Compare.compare(old: old, new: new, minChange: 0).first)
        XCTAssertLessThan(row.p ?? 1, 0.05)
        XCTAssertEqual(row.verdict, "same")
    }

    func testCompareWarnsWhenASideHasFewerThan9RoundMeans() {
        let five = Compare.outcome(old: report(Self.steady), new: report(Self.steady))
        XCTAssertEqual(five.warnings.count, 1)
        XCTAssertTrue(five.warnings[0].contains("fewer than 9 rounds") && five.warnings[0].contains("as few as 5"), five.warnings[0])
        let nine = (0..<9).map { 1000 + Double($0) }
        XCTAssertEqual(Compare.outcome(old: report(nine), new: report(nine)).warnings, [])
        // 18 repetitions in 9 rounds make 9 round means; in 3 rounds, 3.
        let eighteen = (0..<18).map { 1000 + Double($0) }
        XCTAssertEqual(Compare.outcome(old: report(eighteen, rounds: 9), new: report(eighteen, rounds: 9)).warnings, [])
        XCTAssertTrue(Compare.outcome(old: report(eighteen, rounds: 3), new: report(eighteen)).warnings.first?.contains("as few as 3") == true)
        XCTAssertEqual(Compare.outcome(old: report(nine), new: report(Self.steady)).warnings.count, 1)
    }

    /// A report of 12 null-rpc results (threads 1...12), each with `samples` scaled by `scale(i)`.
    func wideReport(_ samples: [Double], scale: (Int) -> Double) -> Report {
        var results: [ResultRecord] = []
        for i in 1...12 {
            var r = report(samples.map { $0 * scale(i) }).results[0]
            r.params = ParamSet([(.threads, .int(i))])
            results.append(r)
        }
        return Report(context: RunContext.collect(argv: [], seed: 1), results: results)
    }

    func testAShiftOfEveryRowIsNamedAsTheMachinesWhileMixedChangesAreNot() {
        let nine = (0..<9).map { 1000 + Double($0) }
        let base = wideReport(nine) { _ in 1 }
        // Every row 20% slower: flagged, and the warning says the whole run moved.
        let all = Compare.outcome(old: base, new: wideReport(nine) { _ in 0.8 })
        XCTAssertEqual(all.rows.filter { $0.verdict == "slower" }.count, 12)
        XCTAssertEqual(all.warnings.count, 1)
        XCTAssertTrue(all.warnings[0].hasPrefix("12 of 12 flagged rows moved the same way (slower; median change of all rows -20.0%)"),
                      all.warnings[0])
        XCTAssertTrue(all.warnings[0].contains("beyond that shared change, 0 of 12 rows moved on their own;"), all.warnings[0])
        // Every row 20% slower and one 40% slower: that one is named as having moved beyond the shared change.
        let one = Compare.outcome(old: base, new: wideReport(nine) { $0 == 7 ? 0.6 : 0.8 })
        XCTAssertEqual(one.rows.filter { $0.verdict == "slower" }.count, 12, "the verdicts stay as measured")
        XCTAssertTrue(one.warnings[0].contains("beyond that shared change, 1 of 12 rows moved on their own: null-rpc threads=7 ops_per_s -25.0%;"),
                      one.warnings[0])
        // Half faster, half slower: a real mix of changes, no such warning.
        let mixed = Compare.outcome(old: base, new: wideReport(nine) { $0 % 2 == 0 ? 0.8 : 1.25 })
        XCTAssertEqual(mixed.rows.filter { $0.verdict != "same" }.count, 12)
        XCTAssertEqual(mixed.warnings, [])
        // Fewer than 10 flagged rows: too few to call it the machine.
        let few = Compare.outcome(old: base, new: wideReport(nine) { $0 <= 9 ? 0.8 : 1 })
        XCTAssertEqual(few.warnings, [])
    }

    func testTheIntervalIsTheMannWhitneyOneAndNeedsEnoughSamples() throws {
        // 5 and 5: 25 ratios; the 95% interval runs from the 3rd to the 23rd (P(U <= 2) = 4/252 <= 0.025 < 7/252).
        let a: [Double] = [100, 100, 100, 100, 100], b: [Double] = [101, 102, 103, 104, 105]
        let ci = try XCTUnwrap(Statistics.ratioInterval(a, b))
        XCTAssertEqual(ci.low, 1.01, accuracy: 1e-12)
        XCTAssertEqual(ci.high, 1.05, accuracy: 1e-12)
        XCTAssertEqual(ci.estimate, 1.03, accuracy: 1e-12)
        XCTAssertNil(Statistics.ratioInterval([1, 2], [1, 2]), "2 and 2 samples cannot give a 95% interval")
        XCTAssertNil(Statistics.ratioInterval([1, 0, 2], [1, 2, 3]), "ratios need positive samples")
    }

    func testARuleNamingAnUnknownMetricOrMessageTypeExits1() throws {
        let dir = try TemporaryDirectory(prefix: "bench-unknown")
        defer { dir.remove() }
        let r = try write(report(Self.steady), dir, "report.json")
        let select = ResultSelector(scenario: "null-rpc", server: "builtin")
        func exit(_ metric: String, max: Double = 0) throws -> Int32 {
            let t = try write(Thresholds(rules: [ThresholdRule(name: "rule", select: select, metric: metric, max: max)]), dir, "t.json")
            return BenchCLI.main(["check", r, "--thresholds", t])
        }
        // A misspelt message type used to read as 0 and pass every max rule; now the file is invalid.
        XCTAssertEqual(try exit("rpcs_by_type.Tgetatr"), 1)
        XCTAssertEqual(try exit("rpcs_by_type.Rgetattr"), 1, "replies are not counted")
        XCTAssertEqual(try exit("rpcs_per_opp"), 1)
        XCTAssertEqual(try exit("throughput.ops_per_s.mean"), 1)
        XCTAssertEqual(try exit("latency_ns.p95"), 1)
        XCTAssertEqual(try exit("params.depht"), 1)
        XCTAssertThrowsError(try ResultRecord.validateMetric("rpcs_by_type.Tgetatr")) {
            XCTAssertTrue("\($0)".contains("\"Tgetatr\" is not a 9P request type"), "\($0)")
        }
        // Well-spelt ones judge: an absent type counts 0, a present one its count.
        XCTAssertEqual(try exit("rpcs_by_type.Tclunk"), 0)
        XCTAssertEqual(try exit("rpcs_by_type.Tgetattr"), 2, "1 Tgetattr per op is above max 0")
        for m in ["rpcs_per_op", "vs_limit", "background_ns_per_op", "cpu.server.user_s", "cpu.user_s", "latency_ns.p999",
                  "throughput.mib_per_s.min", "server.msize", "params.block_size", "rpcs_by_type.Tmultigetattr"] {
            XCTAssertNoThrow(try ResultRecord.validateMetric(m), m)
        }
        // A misspelt key of a rule was an error already.
        let misspelt = dir.appending("misspelt.json")
        try Data(#"{"rules": [{"name": "x", "select": {"scenario": "null-rpc"}, "metric": "rpcs_per_op", "maximum": 1}]}"#.utf8)
            .write(to: URL(fileURLWithPath: misspelt))
        XCTAssertEqual(BenchCLI.main(["check", r, "--thresholds", misspelt]), 1)
    }

    func testOneCheckJudgesTheRulesOfSeveralReports() throws {
        let dir = try TemporaryDirectory(prefix: "bench-two")
        defer { dir.remove() }
        let builtin = try write(report(Self.steady), dir, "builtin.json"), diod = try write(report(Self.steady, kind: "diod"), dir, "diod.json")
        let t = try write(Thresholds(rules: [
            ThresholdRule(name: "builtin", select: ResultSelector(scenario: "null-rpc", server: "builtin"), metric: "rpcs_per_op", equals: 1),
            ThresholdRule(name: "diod", select: ResultSelector(scenario: "null-rpc", server: "diod"), metric: "rpcs_per_op", equals: 1),
        ]), dir, "t.json")
        XCTAssertEqual(BenchCLI.main(["check", builtin, "--thresholds", t, "--strict"]), 1, "the diod rule is skipped")
        XCTAssertEqual(BenchCLI.main(["check", builtin, diod, "--thresholds", t, "--strict"]), 0, "both judged")
        let outcome = Gate.check(reports: [try readReport(builtin), try readReport(diod)], thresholds: try Thresholds(contentsOf: t))
        XCTAssertEqual(outcome.rows.map(\.verdict), [.pass, .pass])
        XCTAssertEqual(BenchCLI.main(["check", "--thresholds", t]), 64, "at least one report")
    }
}
