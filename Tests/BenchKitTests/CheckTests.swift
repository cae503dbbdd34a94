import BenchKit
import Foundation
import TestSupport
import XCTest

final class CheckTests: XCTestCase {
    /// One real inproc report shared by the tests of this class (made once: a second or so).
    nonisolated(unsafe) static var cached: JSON?

    func realReport() throws -> JSON {
        if let r = Self.cached { return r }
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "stat,seq-read", "--ops", "20", "--repetitions", "1",
                                           "--warmup", "2", "--mode", "shared", "--resolver", "vfs2,vfs1", "--state", "replaced",
                                           "--depth", "3", "--path", "hostfd,9p", "--blocks", "1", "--block-size", "64K",
                                           "--multiblock", "buffered", "--file-size", "1M"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let r = try readJSON(out.appending("report.json"))
        Self.cached = r
        return r
    }

    static func seqSelect(_ path: String) -> JSON {
        .object([("scenario", .string("seq-read")), ("server", .string("inproc")),
                 ("params", .object([("mode", .string("shared")), ("path", .string(path)), ("block_size", .string("64K"))]))])
    }

    static let thresholds = JSON.object([("rules", .array([
        .object([("name", .string("seed: VFS1 stat, last component replaced")),
                 ("select", .object([("scenario", .string("stat")), ("server", .string("inproc")),
                                     ("params", .object([("mode", .string("shared")), ("resolver", .string("vfs1")),
                                                         ("state", .string("replaced")), ("depth", .int(3))]))])),
                 ("metric", .string("rpcs_per_op")), ("equals", .int(11))]),
        .object([("name", .string("walk fusion: Tclunk")),
                 ("select", .object([("scenario", .string("stat")),
                                     ("params", .object([("resolver", .string("vfs2")), ("state", .string("replaced"))]))])),
                 ("metric", .string("rpcs_by_type.Tclunk")), ("max", .int(2))]),
        .object([("name", .string("no Tread with a host FD")),
                 ("select", seqSelect("hostfd")), ("metric", .string("rpcs_by_type.Tread")), ("equals", .int(0))]),
        .object([("name", .string("host FD beats 9P")),
                 ("ratio", .object([("numerator", .object([("select", seqSelect("hostfd")), ("metric", .string("throughput.mib_per_s.median"))])),
                                    ("denominator", .object([("select", seqSelect("9p")), ("metric", .string("throughput.mib_per_s.median"))]))])),
                 ("min", .double(1.01))]),
        .object([("name", .string("not in this report")),
                 ("select", .object([("scenario", .string("null-rpc"))])), ("metric", .string("rpcs_per_op")), ("equals", .int(1))]),
    ]))])

    func check(_ report: JSON, _ thresholds: JSON = thresholds, strict: Bool = false) throws -> Int32 {
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
        let isVFS1 = { (r: JSON) in r["scenario"]?.string == "stat" && r.at(path: "params.resolver")?.string == "vfs1" }
        let rpcs = doctor(report, where: isVFS1) { replacing($0, ["rpcs_per_op"], with: .double(12)) }
        XCTAssertEqual(try check(rpcs), 2)
        let clunks = doctor(report, where: { $0.at(path: "params.resolver")?.string == "vfs2" }) {
            replacing($0, ["rpcs_by_type", "Tclunk"], with: .double(3))
        }
        XCTAssertEqual(try check(clunks), 2)
        let isHost = { (r: JSON) in r.at(path: "params.path")?.string == "hostfd" }
        let ratio = doctor(report, where: isHost) { replacing($0, ["throughput", "mib_per_s", "median"], with: .double(0.001)) }
        let outcome = Gate.check(report: ratio, thresholds: Self.thresholds)
        XCTAssertEqual(outcome.rows[3].verdict, .fail)
        XCTAssertEqual(try check(ratio), 2)
    }

    func testFailedSelectedResultExits2AndSkippedOneIsSkipped() throws {
        let report = try realReport()
        let isVFS1 = { (r: JSON) in r.at(path: "params.resolver")?.string == "vfs1" }
        let failed = doctor(report, where: isVFS1) {
            replacing(replacing($0, ["status"], with: .string("failed")), ["error"], with: .string("server died"))
        }
        XCTAssertEqual(try check(failed), 2)
        let skipped = doctor(report, where: isVFS1) { replacing($0, ["status"], with: .string("skipped")) }
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
        let noMetric = JSON.object([("rules", .array([.object([("name", .string("x")), ("select", .object([])), ("equals", .int(1))])]))])
        XCTAssertEqual(try check(report, noMetric), 1, "a rule without metric")
        let unknownKey = JSON.object([("rules", .array([.object([("name", .string("x")), ("select", .object([("scenario", .string("stat"))])),
                                                                 ("metric", .string("rpcs_per_op")), ("equals", .int(1)), ("maximum", .int(2))])]))])
        XCTAssertEqual(try check(report, unknownKey), 1, "an unknown key")
        let ambiguous = JSON.object([("rules", .array([.object([("name", .string("two stats")), ("select", .object([("scenario", .string("stat"))])),
                                                                ("metric", .string("rpcs_per_op")), ("max", .int(100))])]))])
        XCTAssertEqual(try check(report, ambiguous), 1, "a select matching two results")
        let noneOK = doctor(report, where: { _ in true }) { replacing($0, ["status"], with: .string("skipped")) }
        XCTAssertEqual(try check(noneOK), 1, "no ok result at all")
        // A failing rule and an ambiguous one: 1 wins.
        let both = JSON.object([("rules", .array((Self.thresholds["rules"]?.array ?? []) + (ambiguous["rules"]?.array ?? [])))])
        let isVFS1 = { (r: JSON) in r.at(path: "params.resolver")?.string == "vfs1" }
        XCTAssertEqual(try check(doctor(report, where: isVFS1) { replacing($0, ["rpcs_per_op"], with: .double(12)) }, both), 1)
        XCTAssertEqual(BenchCLI.main(["check", dir.appending("missing.json"), "--thresholds", bad]), 1)
    }

    func testCheckedInThresholdsAreValidAndSelectOnlyCISuiteCombinations() throws {
        let t = try readJSON(packageRoot + "/Benchmarks/thresholds.json")
        let rules = t["rules"]?.array ?? []
        XCTAssertGreaterThan(rules.count, 5)
        let ci = try RunOptions.parse(["--suite", "ci"])
        var selects: [JSON] = []
        for r in rules {
            if let s = r["select"] { selects.append(s) }
            if let s = r.at(path: "ratio.numerator.select") { selects.append(s) }
            if let s = r.at(path: "ratio.denominator.select") { selects.append(s) }
        }
        for s in selects where s["server"]?.string == "builtin" {
            let spec = try XCTUnwrap(ScenarioSpec.named(s["scenario"]?.string ?? ""))
            let combos = ci.combinations(of: spec).filter { p in
                (s["params"]?.object ?? []).allSatisfy { k, v in
                    guard let key = ParamKey(rawValue: k), let have = p[key] else { return false }
                    return have.json == v || (v.string.flatMap(Units.parseSize).map { .int($0) } == have)
                }
            }
            XCTAssertEqual(combos.count, 1, "the ci suite must run exactly one combination for \(s.serialized(pretty: false))")
        }
        // Parses without error against an empty-but-valid report shape (rules are well-formed).
        let empty = JSON.object([("schema", .string("swift-gofer-bench/1")), ("results", .array([]))])
        XCTAssertFalse(Gate.check(report: empty, thresholds: t).problems.contains { $0.contains("rule") })
    }

    func testBaselineRuleNeedsTheUTestToAgree() throws {
        func report(_ samples: [Double]) -> JSON {
            .object([("schema", .string("swift-gofer-bench/1")), ("results", .array([.object([
                ("scenario", .string("null-rpc")), ("params", .object([("threads", .int(1))])),
                ("server", .object([("kind", .string("builtin"))])), ("status", .string("ok")), ("error", .null),
                ("throughput", .object([("ops_per_s", .object([("median", .number(Statistics.median(samples))),
                                                               ("samples", .array(samples.map { .double($0) }))]))])),
            ])]))])
        }
        let rules = JSON.object([("rules", .array([.object([
            ("name", .string("null rpc vs baseline")), ("select", .object([("scenario", .string("null-rpc"))])),
            ("metric", .string("throughput.ops_per_s.median")), ("baseline", .object([("tolerance", .double(0.1))])),
        ])]))])
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
