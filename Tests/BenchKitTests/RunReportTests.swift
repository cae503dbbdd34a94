import BenchKit
import BenchReport
import Foundation
import TestSupport
import XCTest

final class RunReportTests: XCTestCase {
    /// The fields every result carries (DESIGN.md "Reports").
    static let resultFields = ["scenario", "params", "server", "status", "error", "repetitions", "ops", "bytes", "rpcs_per_op",
                               "rpcs_background", "rpcs_by_type", "wire_bytes_per_op", "bytes_copied_per_op", "throughput", "latency_ns", "cpu"]

    func testTinyInprocRunWritesReportsThatValidateAndCarryEveryField() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "stat,open-read-close,seq-read,seq-write,null-rpc",
                                           "--ops", "4", "--repetitions", "1", "--warmup", "1", "--mode", "exclusive,shared", "--resolver", "vfs2,vfs1", "--state", "warm,replaced",
                                           "--depth", "3", "--blocks", "1,2", "--block-size", "4K", "--file-size", "64K",
                                           "--multiblock", "scatter", "--threads", "1,2"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(Set(outcome.paths.map { ($0 as NSString).lastPathComponent }), ["report.json", "report.csv", "report.svg"])
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let json = try JSONValue(contentsOf: out.appending("report.json"))
        let report = try readReport(out.appending("report.json"))
        XCTAssertEqual(report.schema, "swift-gofer-bench/1")
        for key in ["date", "host", "kernel", "cpu_model", "cpus", "numa", "swift_version", "build", "git_commit", "argv", "seed",
                    "placement", "limits"] {
            XCTAssertNotNil(json["context"]?[key], "context.\(key)")
        }
        for key in ["socket_rtt_us", "socket_stream_gib_s", "memcpy_gib_s", "pread_gib_s", "placement"] {
            XCTAssertNotNil(json.at(path: "context.limits." + key), "context.limits.\(key)")
        }
        let all = report.results
        // Every scenario here takes --threads: stat, open-read-close, seq-read, seq-write, null-rpc
        XCTAssertEqual(all.count, 4 * 2 * 2 + 2 * 2 * 2 + 2 * 2 * 2 * 2 + 2 * 2 * 2 * 2 + 2)
        for r in json["results"]?.array ?? [] {
            for f in Self.resultFields { XCTAssertNotNil(r[f], "\(r["scenario"]?.string ?? "?") lacks \(f)") }
        }
        for r in all where r.status == .ok {
            XCTAssertEqual(r.ops, 4)
            XCTAssertEqual(r.server.kind, "inproc")
            XCTAssertEqual(r.server.transport, "socketpair")
            XCTAssertEqual(r.server.msize, (1 << 20) + 4096, "goferd grants the bench default, 1 MiB + 4 KiB")
            XCTAssertEqual(r.throughput?.opsPerS.samples.count, 1)
            XCTAssertNotNil(r.latency?.p999)
        }
        // Exactly the skips the design names: vfs1 outside shared (both thread counts), and threaded stat not warm.
        let skipped = all.filter { $0.status == .skipped }
        XCTAssertEqual(skipped.count, 2 * 2 + 3)
        XCTAssertTrue(skipped.allSatisfy {
            let vfs1Exclusive = $0.params[.resolver] == .text("vfs1") && $0.params[.mode] == .text("exclusive")
            let threadedReplaced = $0.scenario == "stat" && $0.params[.threads] == .int(2) && $0.params[.state] == .text("replaced")
            return (vfs1Exclusive || threadedReplaced) && $0.error?.isEmpty == false
        })
        // The RPC model of DESIGN.md at depth 3 against the builtin LocalGofer (N = 13).
        func rpcs(_ mode: String, _ resolver: String, _ state: String) -> Double? {
            results(report, "stat", [.mode: .text(mode), .resolver: .text(resolver), .state: .text(state), .threads: .int(1)]).first?.rpcsPerOp
        }
        XCTAssertEqual(rpcs("shared", "vfs1", "replaced"), 11)
        XCTAssertEqual(rpcs("shared", "vfs2", "replaced"), 6)
        XCTAssertEqual(rpcs("shared", "vfs2", "warm"), 7)
        XCTAssertEqual(rpcs("exclusive", "vfs2", "warm"), 0)
        XCTAssertEqual(rpcs("exclusive", "vfs2", "replaced"), 0)
        let replaced = results(report, "stat", [.mode: .text("shared"), .resolver: .text("vfs2"), .state: .text("replaced"), .threads: .int(1)])[0]
        XCTAssertEqual(replaced.rpcsByType["Twalkgetattr"], 3)
        XCTAssertEqual(replaced.rpcsByType["Tclunk"], 2)
        XCTAssertGreaterThan(replaced.rpcsBackground ?? 0, 0, "the stale fid is clunked by reclaim(), outside the op")
        let nullRPC = results(report, "null-rpc")
        XCTAssertTrue(nullRPC.allSatisfy { $0.rpcsPerOp == 1 && $0.rpcsByType["Tgetattr"] == 1 })
        let hostRead = results(report, "seq-read", [.mode: .text("shared"), .path: .text("hostfd"), .blocks: .int(2), .threads: .int(1)])[0]
        XCTAssertEqual(hostRead.rpcsPerOp, 0)
        XCTAssertEqual(hostRead.bytes, 4 * 2 * 4096)
        let nineRead = results(report, "seq-read", [.mode: .text("shared"), .path: .text("9p"), .blocks: .int(1), .threads: .int(1)])[0]
        XCTAssertEqual(nineRead.rpcsByType["Tread"], 1)

        // CSV: one row per result, every flattened contract column, union of RPC types, no samples.
        let rows = CSVReport.parse(try String(contentsOfFile: out.appending("report.csv"), encoding: .utf8))
        XCTAssertEqual(rows.count, all.count + 1)
        let header = rows[0]
        XCTAssertTrue(rows.allSatisfy { $0.count == header.count })
        for c in CSVReport.middle + CSVReport.tail + ["scenario", "params.mode", "params.block_size", "params.threads",
                                                       "rpcs_by_type.Tgetattr", "rpcs_by_type.Twalkgetattr", "rpcs_by_type.Tread"] {
            XCTAssertTrue(header.contains(c), "CSV lacks \(c)")
        }
        XCTAssertFalse(header.contains { $0.contains("samples") })
        let col = { (name: String) in header.firstIndex(of: name)! }
        for (i, r) in all.enumerated() {
            XCTAssertEqual(rows[i + 1][col("scenario")], r.scenario)
            XCTAssertEqual(rows[i + 1][col("status")], r.status.rawValue)
            if r.rpcsByType["Tread"] == nil { XCTAssertEqual(rows[i + 1][col("rpcs_by_type.Tread")], "0") }
        }
    }

    func testParamsHoldOnlyWhatTheScenarioUses() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "stat,null-rpc,seq-read", "--ops", "2",
                                           "--repetitions", "1", "--warmup", "0", "--mode", "shared", "--resolver", "vfs2",
                                           "--state", "warm", "--depth", "2", "--path", "hostfd", "--blocks", "1",
                                           "--block-size", "4K", "--multiblock", "buffered", "--file-size", "16K", "--threads", "1"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let report = try readReport(out.appending("report.json"))
        func keys(_ scenario: String) -> [String] { results(report, scenario).first?.params.entries.map(\.0.rawValue) ?? [] }
        XCTAssertEqual(keys("stat"), ["mode", "resolver", "depth", "state", "threads", "sharing"])
        XCTAssertEqual(keys("null-rpc"), ["threads"])
        XCTAssertEqual(keys("seq-read"), ["mode", "path", "blocks", "block_size", "multiblock", "file_size", "threads", "sharing", "msize"])
        XCTAssertEqual(results(report, "stat").first?.rpcsPerOp, 5, "shared warm depth 2: 2N+1")
    }
}
