import BenchKit
import BenchReport
import Foundation
import TestSupport
import XCTest

/// Issue 15: the native floor for every scenario, vs_native, and the dashboard exports against their documented shape.
final class NativeExportTests: XCTestCase {
    /// Every scenario, tiny, on inproc and the native floor, with both exports written.
    static func everyScenario() throws -> (RunOutcome, TemporaryDirectory) {
        try benchRun(["--server", "inproc,native", "--mode", "exclusive,shared", "--resolver", "vfs2", "--path", "hostfd,9p",
                      "--state", "warm,replaced", "--depth", "3", "--blocks", "1,2", "--block-size", "4K", "--file-size", "64K",
                      "--multiblock", "scatter", "--entries", "30", "--threads", "1,2", "--ops", "8", "--repetitions", "2",
                      "--warmup", "2", "--format", "json,csv,bmf,gab"])
    }

    func testNativeResultsForEveryScenarioWithZeroRPCsAndVsNative() throws {
        let (outcome, out) = try Self.everyScenario()
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let report = try readReport(out.appending("report.json"))
        let native = report.results.filter { $0.server.kind == "native" }
        XCTAssertEqual(Set(native.map(\.scenario)), Set(ScenarioSpec.all.map(\.name)), "native results for every scenario")
        for r in native {
            let name = "\(r.scenario) \(r.params)"
            let keys = Set(r.params.entries.map(\.0))
            XCTAssertTrue(keys.isDisjoint(with: [.mode, .resolver, .path, .multiblock, .msize]), name)
            XCTAssertEqual(r.server, ServerInfo(kind: "native", transport: "none"), name)
            XCTAssertNil(r.vsNative, name)
            if r.scenario == "readdir" && r.params[.state] == .text("replaced") {
                XCTAssertEqual(r.status, .skipped, name)
                continue
            }
            XCTAssertEqual(r.status, .ok, name + ": " + (r.error ?? ""))
            XCTAssertEqual(r.ops, 16, name)
            XCTAssertEqual(r.rpcsPerOp, 0, name)
            XCTAssertEqual(r.rpcsBackground, 0, name)
            XCTAssertEqual(r.rpcsByType, [:], name)
            XCTAssertEqual(r.wireBytesPerOp, 0, name)
            XCTAssertGreaterThan(r.latency?.p50 ?? 0, 0, name)
        }
        // Exactly one native combination per scenario and params that apply to it: stat 1 depth x 2 states, the data
        // scenarios 2 block counts, null-rpc 2 thread counts, readdir 2 states, the rest 1.
        func count(_ s: String) -> Int { native.filter { $0.scenario == s }.count }
        XCTAssertEqual(count("stat"), 2)
        XCTAssertEqual(count("seq-read"), 2)
        XCTAssertEqual(count("null-rpc"), 2)
        XCTAssertEqual(count("create-unlink"), 1)
        // Native data moves the bytes it says: 16 ops of one unit.
        let read2 = try XCTUnwrap(results(report, "seq-read", [.blocks: .int(2)]).first { $0.server.kind == "native" })
        XCTAssertEqual(read2.bytes, 16 * 2 * 4096)
        // vs_native: every ok inproc result has its floor, and the ratio is its p50 over the floor's.
        for r in report.results where r.server.kind == "inproc" && r.status == .ok {
            let floor = try XCTUnwrap(native.first { n in
                n.scenario == r.scenario && n.params.entries.allSatisfy { r.params[$0.0] == $0.1 }
            }, "\(r.scenario) \(r.params)")
            XCTAssertEqual(r.vsNative, Double(r.latency!.p50!) / Double(floor.latency!.p50!), "\(r.scenario) \(r.params)")
        }
        // The inproc RPC counts are those of a run without native: stat replaced in Shared is 2N.
        let replaced = results(report, "stat", [.mode: .text("shared"), .state: .text("replaced")]).first
        XCTAssertEqual(replaced?.rpcsPerOp, 6)
        // CSV carries vs_native.
        let rows = CSVReport.parse(try String(contentsOfFile: out.appending("report.csv"), encoding: .utf8))
        let column = try XCTUnwrap(rows.first?.firstIndex(of: "vs_native"))
        XCTAssertEqual(rows.dropFirst().filter { !$0[column].isEmpty }.count, report.results.filter { $0.vsNative != nil }.count)
    }

    func testTheTableShowsTheServerAndVsNative() throws {
        var lines: [String] = []
        let out = try TemporaryDirectory(prefix: "bench-table")
        defer { out.remove() }
        var options = try RunOptions.parse(["--server", "inproc,native", "--scenario", "stat,create-unlink", "--mode", "shared",
                                            "--resolver", "vfs2", "--state", "warm", "--depth", "3", "--ops", "4",
                                            "--repetitions", "1", "--warmup", "1", "--no-limits", "--out", out.path])
        options.argv = ["bench"]
        let runner = BenchRunner(options: options)
        runner.print = { lines.append($0) }
        XCTAssertEqual(runner.run().exitCode, 0)
        let header = try XCTUnwrap(lines.first { $0.hasPrefix("scenario") })
        XCTAssertTrue(header.contains(" server ") && header.hasSuffix("vs native"), header)
        let rows = lines.filter { $0.hasPrefix("stat ") || $0.hasPrefix("create-unlink ") }
        XCTAssertEqual(rows.count, 4)
        // Native runs first within a scenario, so that every other row can show its ratio.
        XCTAssertTrue(rows[0].contains(" native ") && rows[0].hasSuffix("-"), rows[0])
        XCTAssertTrue(rows[1].contains(" inproc ") && rows[1].hasSuffix("x"), rows[1])
    }

    func testBMFAndGABExportsHaveTheirDocumentedShape() throws {
        let (outcome, out) = try Self.everyScenario()
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(Set(outcome.paths.map { ($0 as NSString).lastPathComponent }),
                       ["report.json", "report.csv", "report.bmf.json", "report.gab.json"])
        let report = try readReport(out.appending("report.json"))
        let ok = report.results.filter { $0.status == .ok }
        // Each file against its schema (results/bmf.schema.json, results/gab.schema.json), and so is the README's example.
        XCTAssertEqual(try violations(out.appending("report.bmf.json"), schema: "bmf"), [])
        XCTAssertEqual(try violations(out.appending("report.gab.json"), schema: "gab"), [])
        XCTAssertEqual(try readmeExampleViolations("bmf"), [])
        XCTAssertEqual(try readmeExampleViolations("gab"), [])

        // BMF: one benchmark per ok result, its measures the result's numbers.
        let bmf = try JSONDecoder().decode([String: [String: BencherMetricFormat.Metric]].self,
                                           from: Data(contentsOf: URL(fileURLWithPath: out.appending("report.bmf.json"))))
        XCTAssertEqual(Set(bmf.keys), Set(ok.map(\.exportName)))
        XCTAssertEqual(bmf.count, ok.count, "names are unique")
        for r in ok {
            let m = try XCTUnwrap(bmf[r.exportName])
            XCTAssertEqual(m["throughput"], .init(value: r.throughput!.opsPerS.median!, lowerValue: r.throughput!.opsPerS.min,
                                                  upperValue: r.throughput!.opsPerS.max))
            XCTAssertEqual(m["latency"]?.value, Double(r.latency!.p50!))
            XCTAssertEqual(m["rpcs-per-op"]?.value, r.rpcsPerOp)
            XCTAssertEqual(m["mib-per-s"]?.value, r.throughput?.mibPerS?.median)
        }
        // gab: an entry per ok result and metric it has.
        let gab = try JSONDecoder().decode([GitHubActionBenchmarkFormat.Entry].self,
                                           from: Data(contentsOf: URL(fileURLWithPath: out.appending("report.gab.json"))))
        XCTAssertEqual(gab.count, ok.reduce(0) { $0 + ($1.throughput?.mibPerS?.median != nil ? 4 : 3) })
        XCTAssertEqual(Set(gab.map(\.name)).count, gab.count, "names are unique")
        let native = try XCTUnwrap(ok.first { $0.server.kind == "native" && $0.scenario == "stat" })
        let entry = try XCTUnwrap(gab.first { $0.name == native.exportName + " | rpcs_per_op" })
        XCTAssertEqual(entry.unit, "rpcs/op")
        XCTAssertEqual(entry.value, 0)
        let inproc = try XCTUnwrap(ok.first { $0.server.kind == "inproc" && $0.scenario == "seq-read" })
        let mib = try XCTUnwrap(gab.first { $0.name == inproc.exportName + " | mib_per_s" })
        XCTAssertEqual(mib.value, inproc.throughput?.mibPerS?.median)
        XCTAssertTrue(mib.range?.hasPrefix("± ") == true)
        XCTAssertTrue(mib.extra?.contains("vs_native") == true)
    }

    /// Schema violations of the JSON file at `path` against results/<name>.schema.json.
    private func violations(_ path: String, schema name: String) throws -> [String] {
        let schema = try JSONValue(contentsOf: packageRoot + "/results/\(name).schema.json")
        return SchemaValidator(root: schema).validate(try JSONValue(contentsOf: path))
    }

    /// Schema violations of the example that follows `<!-- <name> example -->` in results/README.md.
    private func readmeExampleViolations(_ name: String) throws -> [String] {
        let readme = try String(contentsOfFile: packageRoot + "/results/README.md", encoding: .utf8)
        let marker = try XCTUnwrap(readme.range(of: "<!-- \(name) example -->"), "results/README.md lacks the \(name) example")
        let rest = readme[marker.upperBound...]
        let open = try XCTUnwrap(rest.range(of: "```json\n"))
        let close = try XCTUnwrap(rest[open.upperBound...].range(of: "```"))
        let example = try JSONDecoder().decode(JSONValue.self, from: Data(rest[open.upperBound..<close.lowerBound].utf8))
        let schema = try JSONValue(contentsOf: packageRoot + "/results/\(name).schema.json")
        return SchemaValidator(root: schema).validate(example)
    }
}
