import BenchKit
import BenchReport
import Foundation
import TestSupport
import XCTest

final class CheckTests: XCTestCase {
    /// One real inproc report shared by the tests of this class (made once: a second or so).
    nonisolated(unsafe) static var cached: Report?

    func realReport() throws -> Report {
        if let r = Self.cached { return r }
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "stat,seq-read", "--ops", "20", "--repetitions", "1",
                                           "--warmup", "2", "--mode", "shared", "--resolver", "vfs2,vfs1", "--state", "replaced",
                                           "--depth", "3", "--path", "hostfd,9p", "--blocks", "1", "--block-size", "64K",
                                           "--multiblock", "buffered", "--file-size", "1M"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let r = try readReport(out.appending("report.json"))
        Self.cached = r
        return r
    }

    static func seqSelect(_ path: String) -> ResultSelector {
        ResultSelector(scenario: "seq-read", server: "inproc", params: ["mode": .text("shared"), "path": .text(path), "block_size": .text("64K")])
    }

    static let thresholds = Thresholds(rules: [
        ThresholdRule(name: "seed: VFS1 stat, last component replaced",
                      select: ResultSelector(scenario: "stat", server: "inproc",
                                             params: ["mode": .text("shared"), "resolver": .text("vfs1"), "state": .text("replaced"), "depth": .number(3)]),
                      metric: "rpcs_per_op", equals: 11),
        ThresholdRule(name: "walk fusion: Tclunk",
                      select: ResultSelector(scenario: "stat", params: ["resolver": .text("vfs2"), "state": .text("replaced")]),
                      metric: "rpcs_by_type.Tclunk", max: 2),
        ThresholdRule(name: "no Tread with a host FD", select: seqSelect("hostfd"), metric: "rpcs_by_type.Tread", equals: 0),
        ThresholdRule(name: "host FD beats 9P",
                      ratio: RatioSides(numerator: MetricSide(select: seqSelect("hostfd"), metric: "throughput.mib_per_s.median"),
                                        denominator: MetricSide(select: seqSelect("9p"), metric: "throughput.mib_per_s.median")),
                      min: 1.01),
        ThresholdRule(name: "not in this report", select: ResultSelector(scenario: "null-rpc"), metric: "rpcs_per_op", equals: 1),
    ])

    func check(_ report: Report, _ thresholds: Thresholds = thresholds, strict: Bool = false) throws -> Int32 {
        let dir = try TemporaryDirectory(prefix: "bench-check")
        defer { dir.remove() }
        let r = try write(report, dir, "report.json"), t = try write(thresholds, dir, "thresholds.json")
        return BenchCLI.main(["check", r, "--thresholds", t] + (strict ? ["--strict"] : []))
    }

    func testRealReportMeetsItsRules() throws {
        let report = try realReport()
        let outcome = Gate.check(report: report, thresholds: Self.thresholds)
        XCTAssertEqual(outcome.rows.map(\.verdict), [.pass, .pass, .pass, .pass, .skipped], Gate.render(outcome))
        XCTAssertEqual(outcome.rows[0].measured, 11)
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(try check(report), 0)
        XCTAssertEqual(try check(report, strict: true), 1, "--strict turns the skipped rule into an error")
    }

    func testDoctoredRPCCountAndRatioExit2() throws {
        let report = try realReport()
        let isVFS1 = { (r: ResultRecord) in r.scenario == "stat" && r.params[.resolver] == .text("vfs1") }
        let rpcs = doctor(report, where: isVFS1) { $0.rpcsPerOp = 12 }
        XCTAssertEqual(try check(rpcs), 2)
        let clunks = doctor(report, where: { $0.params[.resolver] == .text("vfs2") }) { $0.rpcsByType["Tclunk"] = 3 }
        XCTAssertEqual(try check(clunks), 2)
        let isHost = { (r: ResultRecord) in r.params[.path] == .text("hostfd") }
        let ratio = doctor(report, where: isHost) { $0.throughput?.mibPerS?.median = 0.001 }
        let outcome = Gate.check(report: ratio, thresholds: Self.thresholds)
        XCTAssertEqual(outcome.rows[3].verdict, .fail)
        XCTAssertEqual(try check(ratio), 2)
    }

    func testFailedSelectedResultExits2AndSkippedOneIsSkipped() throws {
        let report = try realReport()
        let isVFS1 = { (r: ResultRecord) in r.params[.resolver] == .text("vfs1") }
        let failed = doctor(report, where: isVFS1) { $0.status = .failed; $0.error = "server died" }
        XCTAssertEqual(try check(failed), 2)
        let skipped = doctor(report, where: isVFS1) { $0.status = .skipped }
        let outcome = Gate.check(report: skipped, thresholds: Self.thresholds)
        XCTAssertEqual(outcome.rows[0].verdict, .skipped)
        XCTAssertEqual(outcome.exitCode, 0)
    }

    func testCannotJudgeExits1AndOneWinsOverTwo() throws {
        let report = try realReport()
        let dir = try TemporaryDirectory(prefix: "bench-check")
        defer { dir.remove() }
        let r = try write(report, dir, "report.json")
        let bad = dir.appending("bad.json")
        try Data("{\"rules\": [".utf8).write(to: URL(fileURLWithPath: bad))
        XCTAssertEqual(BenchCLI.main(["check", r, "--thresholds", bad]), 1, "not JSON")
        let noMetric = Thresholds(rules: [ThresholdRule(name: "x", select: ResultSelector(), equals: 1)])
        XCTAssertEqual(try check(report, noMetric), 1, "a rule without metric")
        let unknownKey = dir.appending("unknown.json")
        try Data(#"{"rules": [{"name": "x", "select": {"scenario": "stat"}, "metric": "rpcs_per_op", "equals": 1, "maximum": 2}]}"#.utf8)
            .write(to: URL(fileURLWithPath: unknownKey))
        XCTAssertEqual(BenchCLI.main(["check", r, "--thresholds", unknownKey]), 1, "an unknown key")
        let ambiguous = Thresholds(rules: [ThresholdRule(name: "two stats", select: ResultSelector(scenario: "stat"),
                                                         metric: "rpcs_per_op", max: 100)])
        XCTAssertEqual(try check(report, ambiguous), 1, "a select matching two results")
        let noneOK = doctor(report, where: { _ in true }) { $0.status = .skipped }
        XCTAssertEqual(try check(noneOK), 1, "no ok result at all")
        // A failing rule and an ambiguous one: 1 wins.
        let both = Thresholds(rules: Self.thresholds.rules + ambiguous.rules)
        let isVFS1 = { (r: ResultRecord) in r.params[.resolver] == .text("vfs1") }
        XCTAssertEqual(try check(doctor(report, where: isVFS1) { $0.rpcsPerOp = 12 }, both), 1)
        XCTAssertEqual(BenchCLI.main(["check", dir.appending("missing.json"), "--thresholds", bad]), 1)
    }

    func testCheckedInThresholdsAreValidAndSelectOnlyCISuiteCombinations() throws {
        let t = try Thresholds(contentsOf: packageRoot + "/Benchmarks/thresholds.json")
        let rules = t.rules
        XCTAssertGreaterThan(rules.count, 5)
        let ci = try RunOptions.parse(["--suite", "ci"]), ciDiod = try RunOptions.parse(["--suite", "ci-diod"])
        XCTAssertEqual(ciDiod.server, .diod, "the ci-diod suite runs against diod")
        var selects: [ResultSelector] = []
        for r in rules {
            if let s = r.select { selects.append(s) }
            if let s = r.ratio?.numerator?.select { selects.append(s) }
            if let s = r.ratio?.denominator?.select { selects.append(s) }
        }
        // Every rule is judged by CI: builtin rules by the ci suite, diod rules by the ci-diod pass.
        XCTAssertEqual(Set(selects.map { $0.server ?? "" }), ["builtin", "diod"])
        for s in selects {
            let suite = s.server == "diod" ? ciDiod : ci
            let spec = try XCTUnwrap(ScenarioSpec.named(s.scenario ?? ""))
            XCTAssertTrue(suite.scenarioList.contains { $0.name == spec.name }, "\(suite.suite.name) runs \(spec.name)")
            let combos = suite.combinations(of: spec).filter { p in
                (s.params ?? [:]).allSatisfy { k, v in
                    guard let key = ParamKey(rawValue: k), let have = p[key] else { return false }
                    switch v {
                    case let .text(text): return have == .text(text) || Units.parseSize(text).map { .int($0) } == have
                    case let .number(n): return have.intValue.map(Double.init) == n
                    }
                }
            }
            XCTAssertEqual(combos.count, 1, "the \(suite.suite.name) suite must run exactly one combination for \(s)")
        }
        // Parses without error against an empty-but-valid report shape (rules are well-formed).
        let empty = Report(context: RunContext.collect(argv: [], seed: 1), results: [])
        XCTAssertFalse(Gate.check(report: empty, thresholds: t).problems.contains { $0.contains("rule") })
    }

    func testBaselineRuleNeedsTheUTestToAgree() throws {
        func report(_ samples: [Double]) -> Report {
            var r = ResultRecord(scenario: "null-rpc", params: ParamSet([(.threads, .int(1))]),
                                 server: ServerInfo(kind: "builtin", transport: "socketpair"), status: .ok)
            r.throughput = Throughput(opsPerS: Distribution(samples: samples), mibPerS: nil)
            return Report(context: RunContext.collect(argv: [], seed: 1), results: [r])
        }
        let rules = Thresholds(rules: [
            ThresholdRule(name: "null rpc vs baseline", select: ResultSelector(scenario: "null-rpc"),
                          metric: "throughput.ops_per_s.median", baseline: BaselineTolerance(tolerance: 0.1)),
        ])
        let base = report([100, 101, 99, 100, 102])
        XCTAssertEqual(Gate.check(report: report([80, 81, 79, 80, 82]), thresholds: rules, baseline: base).exitCode, 2)
        XCTAssertEqual(Gate.check(report: report([99, 100, 98, 101, 100]), thresholds: rules, baseline: base).exitCode, 0)
        // 20% slower median but only 3 repetitions: not flagged.
        XCTAssertEqual(Gate.check(report: report([80, 81, 79]), thresholds: rules, baseline: base).exitCode, 0)
        // Without --baseline the rule is skipped.
        XCTAssertEqual(Gate.check(report: report([80, 81, 79, 80, 82]), thresholds: rules).rows[0].verdict, .skipped)

        let dir = try TemporaryDirectory(prefix: "bench-compare")
        defer { dir.remove() }
        let old = try write(base, dir, "old.json"), slow = try write(report([80, 81, 79, 80, 82]), dir, "new.json")
        let rows = Compare.compare(old: base, new: report([80, 81, 79, 80, 82]))
        XCTAssertEqual(rows.map(\.verdict), ["slower"])
        XCTAssertEqual(Compare.compare(old: base, new: report([120, 121, 119, 120, 122])).map(\.verdict), ["faster"])
        XCTAssertEqual(Compare.compare(old: base, new: report([101, 100, 99, 102, 98])).map(\.verdict), ["same"])
        XCTAssertEqual(BenchCLI.main(["compare", old, slow]), 0)
        XCTAssertEqual(BenchCLI.main(["compare", old, slow, "--fail-on-slower"]), 2)
        XCTAssertEqual(BenchCLI.main(["compare", old, old, "--fail-on-slower"]), 0)
    }
}
