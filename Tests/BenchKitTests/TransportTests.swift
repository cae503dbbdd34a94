@testable import BenchKit
import BenchReport
import Foundation
import P9
import TestSupport
import XCTest

/// `--transport socket,channel`: a list like every parameter flag; `server.transport` says what ran.
final class TransportTests: XCTestCase {
    func testTransportIsAListAppliedToEveryScenarioWhenGiven() throws {
        let o = try RunOptions.parse(["--scenario", "stat", "--transport", "socket,channel"])
        XCTAssertEqual(o.values[.transport], [.text("socket"), .text("channel")])
        let stat = o.combinations(of: ScenarioSpec.named("stat")!)
        let plain = try RunOptions.parse(["--scenario", "stat"]).combinations(of: ScenarioSpec.named("stat")!)
        XCTAssertEqual(stat.count, plain.count * 2)
        XCTAssertEqual(stat.first?.entries.last?.0, .transport)
        XCTAssertTrue(plain.allSatisfy { $0[.transport] == nil }, "without the flag no result names a transport")
        XCTAssertTrue(o.combinations(of: ScenarioSpec.named("stat")!, on: .native).allSatisfy { $0[.transport] == nil })
        do { _ = try RunOptions.parse(["--transport", "shm"]); XCTFail("shm is not a transport") } catch {
            XCTAssertTrue(error.message.contains("--transport") && error.message.contains("socket|channel"), error.message)
        }
    }

    func testAChannelClientAsksForOneChannelPerCallerThread() throws {
        func params(_ args: [String]) throws -> [ParamSet] {
            try RunOptions.parse(["--scenario", "null-rpc"] + args).combinations(of: ScenarioSpec.named("null-rpc")!)
        }
        let byThreads = try params(["--threads", "1,4,16", "--transport", "channel"]).map(\.channels)
        XCTAssertEqual(byThreads, [ClientOptions.defaultChannels, max(ClientOptions.defaultChannels, 4), 8],
                       "the default, one per thread beyond it, at most 8")
        XCTAssertEqual(try params(["--threads", "4", "--transport", "socket"]).map(\.channels), [0])
    }

    func testChannelRowsRunOverChannelsWithTheSameRPCs() throws {
        let servers = Diod.isInstalled ? "inproc,diod" : "inproc"
        let (outcome, out) = try benchRun(["--server", servers, "--scenario", "null-rpc,stat", "--mode", "shared",
                                           "--resolver", "vfs2", "--depth", "3", "--state", "warm", "--threads", "1", "--transport", "socket,channel",
                                           "--ops", "20", "--repetitions", "1", "--warmup", "2"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let report = try readReport(out.appending("report.json"))
        XCTAssertEqual(report.results.count, 2 * 2 * (Diod.isInstalled ? 2 : 1))
        for r in report.results {
            XCTAssertEqual(r.status, .ok, "\(r.scenario) \(r.params): \(r.error ?? "")")
            let channel = r.params.text(.transport) == "channel"
            switch r.server.kind {
            case "inproc":
                XCTAssertEqual(r.server.transport, channel ? "channel" : "socketpair", "\(r.scenario) \(r.params)")
                XCTAssertNotNil(r.cpu?.server, "the server's CPU time covers its channel threads")
            default:
                XCTAssertEqual(r.server.transport, "unix", "diod refuses channels: the socket ran")
            }
            XCTAssertNotNil(r.cpu?.client)
        }
        // The RPCs per op do not depend on the transport.
        for scenario in ["null-rpc", "stat"] {
            for kind in Set(report.results.map(\.server.kind)) {
                let rows = report.results.filter { $0.scenario == scenario && $0.server.kind == kind }
                XCTAssertEqual(rows.count, 2)
                XCTAssertEqual(Set(rows.map(\.rpcsPerOp)).count, 1, "\(scenario) on \(kind)")
            }
        }
    }
}
