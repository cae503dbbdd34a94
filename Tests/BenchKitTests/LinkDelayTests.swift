import BenchKit
import BenchReport
import Foundation
import TestSupport
import XCTest

/// `--link-delay` / `--link-jitter`: parsing, the params they add, a run through the relay and its chart.
final class LinkDelayTests: XCTestCase {
    func testLinkFlagsTakeDurationListsInWholeMicroseconds() throws {
        let o = try RunOptions.parse(["--scenario", "stat", "--link-delay", "0,50us,200us,1ms", "--link-jitter", "20us"])
        XCTAssertEqual(o.values[.linkDelay], [.int(0), .int(50), .int(200), .int(1000)])
        XCTAssertEqual(o.values[.linkJitter], [.int(20)])
        XCTAssertEqual(ParamKey.linkDelay.flag, "--link-delay")
        XCTAssertEqual(ParamKey.linkJitter.flag, "--link-jitter")
        // The link applies to every scenario, after its own parameters.
        let stat = o.combinations(of: ScenarioSpec.named("stat")!)
        let direct = try RunOptions.parse(["--scenario", "stat"]).combinations(of: ScenarioSpec.named("stat")!)
        XCTAssertEqual(stat.count, direct.count * 4)
        XCTAssertEqual(stat.first?.entries.map(\.0).suffix(2), [.linkDelay, .linkJitter])
        XCTAssertEqual(try RunOptions.parse(["--link-delay", "0ms,2000ns"]).values[.linkDelay], [.int(0), .int(2)])
        // Without the flags no result names a link.
        let plain = try RunOptions.parse(["--scenario", "null-rpc"])
        XCTAssertTrue(plain.combinations(of: ScenarioSpec.named("null-rpc")!).allSatisfy { $0[.linkDelay] == nil && $0[.linkJitter] == nil })
    }

    func testBadLinkValuesAreUsageErrorsNamingTheFlag() {
        for bad in ["200", "1500ns", "-1ms", "fast", ""] {
            let m = usageError(["--link-delay", bad]) ?? ""
            XCTAssertTrue(m.contains("--link-delay") && m.contains("ns|us|ms|s"), "\(bad): \(m)")
        }
        XCTAssertTrue(usageError(["--link-jitter", "10us"])?.contains("--link-jitter needs --link-delay") == true)
        XCTAssertEqual(BenchCLI.main(["run", "--link-delay", "5"]), 64)
    }

    /// Through the relay: every RPC pays 2 x the delay (a lower bound), the relay's cost is reported, the report is
    /// valid, and the SVG gains the latency-vs-delay chart.
    func testRunThroughTheRelayRecordsTheDelayItsCostAndTheChart() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "stat,null-rpc", "--mode", "shared",
                                           "--resolver", "vfs2,multi", "--depth", "3", "--state", "warm", "--threads", "1",
                                           "--link-delay", "0,1ms", "--ops", "5", "--repetitions", "1", "--warmup", "1"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let report = try readReport(out.appending("report.json"))
        XCTAssertEqual(report.results.count, 6)
        for r in report.results {
            XCTAssertEqual(r.status, .ok, "\(r.scenario) \(r.params): \(r.error ?? "")")
            XCTAssertNotNil(r.server.relayCostUs, "every relayed result carries the relay's cost")
            let delay = r.params.int(.linkDelay)
            // Each RPC crosses the link twice: the median op takes at least rpcs x 2 x delay.
            let rpcs = try XCTUnwrap(r.rpcsPerOp)
            XCTAssertGreaterThanOrEqual(Double(try XCTUnwrap(r.latency?.p50)), rpcs * 2 * Double(delay) * 1000,
                                        "\(r.scenario) \(r.params)")
        }
        // The RPC counts do not depend on the link.
        for resolver in ["vfs2", "multi"] {
            XCTAssertEqual(Set(results(report, "stat", [.resolver: .text(resolver)]).map(\.rpcsPerOp)).count, 1, resolver)
        }
        XCTAssertEqual(Set(results(report, "null-rpc").map(\.rpcsPerOp)), [1])
        let svg = try String(contentsOfFile: out.appending("report.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains("id=\"latency-vs-delay-stat\""))
        XCTAssertFalse(svg.contains("id=\"latency-vs-delay-null-rpc\""), "null-rpc is not charted against delay")
        XCTAssertEqual(svg.components(separatedBy: "data-chart=\"latency-vs-delay\"").count - 1, 4, "2 resolvers x 2 delays")
        // The report reads back, and a direct run has no relay cost.
        let (direct, out2) = try benchRun(["--server", "inproc", "--scenario", "null-rpc", "--threads", "1", "--ops", "2",
                                           "--repetitions", "1", "--warmup", "0"])
        defer { out2.remove() }
        XCTAssertEqual(direct.exitCode, 0)
        XCTAssertTrue(try readReport(out2.appending("report.json")).results.allSatisfy { $0.server.relayCostUs == nil })
        let text = try String(contentsOfFile: out2.appending("report.json"), encoding: .utf8)
        XCTAssertFalse(text.contains("relay_cost_us"), "only relayed results carry it")
    }
}
