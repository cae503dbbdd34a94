import BenchKit
import BenchReport
import Foundation
import TestSupport
import XCTest

/// The scenarios of issue 10 in tiny configurations, with their exact RPC counts against LocalGofer.
final class NewScenarioTests: XCTestCase {
    static let newScenarios = ["create-unlink", "mkdir-rmdir", "readdir", "rename", "readlink", "fsync", "rand-read", "rand-write"]

    func testEveryNewScenarioRunsTinyAgainstInprocWithPlausibleCounts() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", Self.newScenarios.joined(separator: ","),
                                           "--ops", "6", "--repetitions", "2", "--warmup", "2", "--mode", "exclusive,shared",
                                           "--resolver", "vfs2", "--entries", "50", "--state", "cold,warm", "--path", "hostfd,9p",
                                           "--blocks", "1,2", "--block-size", "4K", "--file-size", "64K", "--multiblock", "scatter"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let report = try readReport(out.appending("report.json"))
        let all = report.results
        // create-unlink, mkdir-rmdir, rename, readlink: 2 modes; readdir 2 x 2 states; fsync 2 x 2 paths; rand-*: 2 x 2 x 2 blocks.
        XCTAssertEqual(all.count, 2 * 4 + 4 + 4 + 8 + 8)
        for r in all {
            let name = "\(r.scenario) \(r.params)"
            XCTAssertEqual(r.status, .ok, name + ": " + (r.error ?? ""))
            XCTAssertEqual(r.ops, 12, name)
            XCTAssertEqual(r.repetitions, 2, name)
            XCTAssertGreaterThan(r.throughput?.opsPerS.median ?? 0, 0, name)
        }
        func one(_ scenario: String, _ params: [ParamKey: ParamValue]) -> ResultRecord? {
            let m = results(report, scenario, params)
            XCTAssertEqual(m.count, 1, "\(scenario) \(params)")
            return m.first
        }
        func rpcs(_ r: ResultRecord?, _ type: String? = nil) -> Double? {
            type.map { r?.rpcsByType[$0] ?? 0 } ?? r?.rpcsPerOp
        }
        // mkdir + rmdir in Exclusive: Tumkdir on the cached parent, Tunlinkat(AT_REMOVEDIR); no dentry made.
        let mk = one("mkdir-rmdir", [.mode: .text("exclusive")])
        XCTAssertEqual(rpcs(mk), 2)
        XCTAssertEqual(rpcs(mk, "Tumkdir"), 1)
        XCTAssertEqual(rpcs(mk, "Tunlinkat"), 1)
        // rename there and back in Exclusive: two Trenameat on the cached folder.
        let rn = one("rename", [.mode: .text("exclusive")])
        XCTAssertEqual(rpcs(rn), 2)
        XCTAssertEqual(rpcs(rn, "Trenameat"), 2)
        // readlink: cached in Exclusive, one Treadlink per op in Shared (after revalidating the path).
        XCTAssertEqual(rpcs(one("readlink", [.mode: .text("exclusive")])), 0)
        XCTAssertEqual(rpcs(one("readlink", [.mode: .text("shared")]), "Treadlink"), 1)
        // readdir of 50 entries: the listing is cached when warm in Exclusive; cold it is opened and read again.
        XCTAssertEqual(rpcs(one("readdir", [.mode: .text("exclusive"), .state: .text("warm")])), 0)
        let cold = one("readdir", [.mode: .text("exclusive"), .state: .text("cold")])
        XCTAssertEqual(rpcs(cold, "Tlopen"), 1)
        XCTAssertGreaterThanOrEqual(rpcs(cold, "Treaddir") ?? 0, 2, "at least one batch and the empty one that ends the listing")
        XCTAssertGreaterThan(cold?.rpcsBackground ?? 0, 0, "dropCaches() clunks the folder's fids outside the op")
        // fsync: no RPC with a host FD; over 9P one Twrite and one Tfsync.
        XCTAssertEqual(rpcs(one("fsync", [.mode: .text("shared"), .path: .text("hostfd")])), 0)
        let sync9p = one("fsync", [.mode: .text("shared"), .path: .text("9p")])
        XCTAssertEqual(rpcs(sync9p, "Twrite"), 1)
        XCTAssertEqual(rpcs(sync9p, "Tfsync"), 1)
        XCTAssertEqual(rpcs(sync9p), 2)
        // Random I/O: bytes are ops x unit; over 9P in Shared one Tread/Twrite per op (scatter for 2 blocks).
        for scenario in ["rand-read", "rand-write"] {
            for blocks in [1, 2] {
                let r = one(scenario, [.mode: .text("shared"), .path: .text("9p"), .blocks: .int(blocks)])
                XCTAssertEqual(r?.bytes, 12 * blocks * 4096, scenario)
                XCTAssertEqual(rpcs(r, scenario == "rand-read" ? "Tread" : "Twrite"), 1, "\(scenario) blocks \(blocks)")
                XCTAssertNotNil(r?.throughput?.mibPerS?.median)
                let host = one(scenario, [.mode: .text("shared"), .path: .text("hostfd"), .blocks: .int(blocks)])
                XCTAssertEqual(rpcs(host), 0)
            }
        }
        // Every latency summary is ordered (HdrHistogram percentiles).
        for r in all {
            let l = [r.latency?.p50, r.latency?.p90, r.latency?.p99, r.latency?.p999, r.latency?.max].map { $0 ?? -1 }
            XCTAssertGreaterThan(l[0], 0)
            XCTAssertEqual(l, l.sorted(), "\(r.scenario): \(l)")
        }
    }

    func testCreateUnlinkInExclusiveIsFourRPCsInAnExactSequence() throws {
        let trace = try TemporaryDirectory(prefix: "bench-trace")
        defer { trace.remove() }
        let file = trace.appending("trace.jsonl")
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "create-unlink", "--mode", "exclusive",
                                           "--resolver", "vfs2", "--ops", "5", "--repetitions", "1", "--warmup", "1",
                                           "--trace", file])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let r = try XCTUnwrap(results(try readReport(out.appending("report.json")), "create-unlink").first)
        // What the filesystem does for open(O_CREAT|O_EXCL) + close + unlink of a name it saw unlinked before:
        //   (no Twalkgetattr: the warm-up op's unlink left a negative dentry, so the ENOENT lookup is a cache hit)
        //   Twalk(parent, [])       clone the parent's fid for the new file
        //   Tucreate(clone, "f")    create + open it (the clone now names the open file, with the host FD)
        //   Twalkgetattr(parent, ["f"])  the new dentry's own fid and attributes
        //   (close: nothing in Exclusive, the handle lives with the dentry)
        //   Tunlinkat(parent, "f")  remove it; the dentry goes stale
        // and outside the op, fs.reclaim() clunks the stale dentry's fid and its handle's (2 background RPCs).
        XCTAssertEqual(r.rpcsPerOp, 4)
        for t in ["Twalk", "Tucreate", "Twalkgetattr", "Tunlinkat"] { XCTAssertEqual(r.rpcsByType[t], 1, t) }
        XCTAssertEqual(r.rpcsBackground, 2)
        let text = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        let lines = try text.map { try JSONDecoder().decode(TraceLine.self, from: Data($0.utf8)) }
        // Background RPCs carry an explicit null op, not a missing one.
        let raw = try text.map { try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        var perOp: [Int: [String]] = [:]
        for l in lines { if let op = l.op { perOp[op, default: []].append(l.type) } }
        XCTAssertEqual(perOp.count, 5)
        for (op, types) in perOp { XCTAssertEqual(types, ["Twalk", "Tucreate", "Twalkgetattr", "Tunlinkat"], "op \(op)") }
        XCTAssertEqual(raw.filter { $0["op"] == .null }.map { $0["type"]?.string }, Array(repeating: "Tclunk", count: 10))
    }

    func testNewScenariosAgainstTheBuiltinChildServer() throws {
        let exe = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
            .deletingLastPathComponent().appendingPathComponent("bench").path
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            throw XCTSkip("the bench executable is not built beside the tests (\(exe)); run swift build first")
        }
        let (outcome, out) = try benchRun(["--scenario", "create-unlink,readdir,rand-read", "--mode", "exclusive",
                                           "--resolver", "vfs2", "--entries", "20", "--state", "cold", "--path", "9p",
                                           "--blocks", "1", "--block-size", "4K", "--file-size", "32K", "--multiblock", "buffered",
                                           "--ops", "4", "--repetitions", "1", "--warmup", "1"]) { $0.serverExecutable = exe }
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let report = try readReport(out.appending("report.json"))
        let all = report.results
        XCTAssertEqual(all.map(\.status), [.ok, .ok, .ok])
        XCTAssertTrue(all.allSatisfy { $0.server.kind == "builtin" })
        XCTAssertEqual(results(report, "create-unlink").first?.rpcsPerOp, 4)
    }

    func testRandomOffsetsFollowTheSeed() {
        // The same seed gives the same unit indices, another seed others; all inside the file.
        XCTAssertEqual(RandomOffsets.sample(seed: 7, units: 256, count: 16), RandomOffsets.sample(seed: 7, units: 256, count: 16))
        XCTAssertNotEqual(RandomOffsets.sample(seed: 7, units: 256, count: 16), RandomOffsets.sample(seed: 8, units: 256, count: 16))
        let many = RandomOffsets.sample(seed: 1, units: 256, count: 1000)
        XCTAssertTrue(many.allSatisfy { (0..<256).contains($0) })
        XCTAssertGreaterThan(Set(many).count, 200, "offsets spread over the file")
    }
}
