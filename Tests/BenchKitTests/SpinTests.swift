import BenchKit
import BenchReport
import XCTest

/// `--spin`: one duration for the client and the server the bench starts, carried by every result as `spin_us`.
final class SpinTests: XCTestCase {
    func testSpinTakesOneDurationAndEveryResultCarriesIt() throws {
        let o = try RunOptions.parse(["--scenario", "null-rpc,stat", "--spin", "20us"])
        XCTAssertEqual(ParamKey.spin.flag, "--spin")
        XCTAssertEqual(o.values[.spin], [.int(20)])
        XCTAssertEqual(o.spin, .microseconds(20))
        for name in ["null-rpc", "stat"] {
            let rows = o.combinations(of: ScenarioSpec.named(name)!)
            XCTAssertFalse(rows.isEmpty)
            XCTAssertTrue(rows.allSatisfy { $0[.spin] == .int(20) }, name)
            XCTAssertTrue(o.combinations(of: ScenarioSpec.named(name)!, on: .native).allSatisfy { $0[.spin] == nil },
                          "native has no socket to spin on")
        }
        XCTAssertNil(try RunOptions.parse(["--spin", "0"]).spin, "0 is no spin")
        let plain = try RunOptions.parse(["--scenario", "null-rpc"])
        XCTAssertNil(plain.spin)
        XCTAssertTrue(plain.combinations(of: ScenarioSpec.named("null-rpc")!).allSatisfy { $0[.spin] == nil })
    }

    func testServerSpinOverridesSpinForTheServerAlone() throws {
        XCTAssertEqual(ParamKey.serverSpin.flag, "--server-spin")
        let server = try RunOptions.parse(["--scenario", "null-rpc", "--server-spin", "50us"])
        XCTAssertNil(server.spin, "the client blocks at once")
        XCTAssertEqual(server.serverSpin, .microseconds(50))
        let rows = server.combinations(of: ScenarioSpec.named("null-rpc")!)
        XCTAssertTrue(!rows.isEmpty && rows.allSatisfy { $0[.serverSpin] == .int(50) && $0[.spin] == nil })
        XCTAssertTrue(server.combinations(of: ScenarioSpec.named("null-rpc")!, on: .native).allSatisfy { $0[.serverSpin] == nil })
        let clientOnly = try RunOptions.parse(["--spin", "20us", "--server-spin", "0"])
        XCTAssertEqual(clientOnly.spin, .microseconds(20))
        XCTAssertNil(clientOnly.serverSpin, "0: the server blocks at once")
        XCTAssertEqual(try RunOptions.parse(["--spin", "20us"]).serverSpin, .microseconds(20), "--spin alone: both sides")
        XCTAssertTrue(usageError(["--server-spin", "10us,20us"])?.contains("--server-spin takes one duration") == true)
    }

    /// The inproc server starts with the spin `--server-spin` gave it, and the run answers as a blocking one does.
    func testTheServerTheBenchStartsGetsTheServerSpin() throws {
        var seen: Duration?? = .none
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "null-rpc", "--threads", "1", "--server-spin", "40us",
                                           "--ops", "20", "--repetitions", "1", "--warmup", "1"]) { runner in
            runner.inspectServer = { host in seen = .some(host.spin) }
        }
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(seen, .some(.microseconds(40)))
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let report = try readReport(out.appending("report.json"))
        XCTAssertEqual(report.results.map { $0.params[.serverSpin] }, [.int(40)])
        XCTAssertEqual(report.results.map { $0.params[.spin] }, [nil], "the client does not spin")
        XCTAssertEqual(report.results.map(\.rpcsPerOp), [1])
    }

    func testBadSpinValuesAreUsageErrors() {
        XCTAssertTrue(usageError(["--spin", "10us,20us"])?.contains("--spin takes one duration") == true)
        XCTAssertTrue(usageError(["--spin", "20"])?.contains("ns|us|ms|s") == true)
        XCTAssertEqual(BenchCLI.main(["run", "--spin", "fast"]), 64)
    }

    /// A spinning client and inproc server answer exactly as a blocking pair does: same RPC counts, a valid report.
    func testASpinningRunKeepsItsCountsAndReportsSpinUs() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "null-rpc,stat", "--mode", "shared",
                                           "--resolver", "vfs2", "--depth", "3", "--state", "warm", "--threads", "1",
                                           "--spin", "50us", "--ops", "20", "--repetitions", "1", "--warmup", "1"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let report = try readReport(out.appending("report.json"))
        XCTAssertEqual(report.results.count, 2)
        for r in report.results {
            XCTAssertEqual(r.status, .ok, "\(r.scenario): \(r.error ?? "")")
            XCTAssertEqual(r.params.int(.spin), 50)
        }
        XCTAssertEqual(results(report, "null-rpc").map(\.rpcsPerOp), [1])
        XCTAssertEqual(results(report, "stat").map(\.rpcsPerOp), [7], "vfs2 Shared warm depth 3")
    }
}
