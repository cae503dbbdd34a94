import BenchKit
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
        let report = try readJSON(out.appending("report.json"))
        XCTAssertEqual(SchemaValidator(root: try readJSON(packageRoot + "/results/schema.json")).validate(report), [])
        let all = report["results"]?.array ?? []
        // create-unlink, mkdir-rmdir, rename, readlink: 2 modes; readdir 2 x 2 states; fsync 2 x 2 paths; rand-*: 2 x 2 x 2 blocks.
        XCTAssertEqual(all.count, 2 * 4 + 4 + 4 + 8 + 8)
        for r in all {
            let name = "\(r["scenario"]?.string ?? "?") \(r["params"].map { $0.serialized(pretty: false) } ?? "")"
            XCTAssertEqual(r["status"]?.string, "ok", name + ": " + (r["error"]?.string ?? ""))
            XCTAssertEqual(r["ops"], .int(12), name)
            XCTAssertEqual(r["repetitions"], .int(2), name)
            XCTAssertGreaterThan(r.at(path: "throughput.ops_per_s.median")?.number ?? 0, 0, name)
        }
        func one(_ scenario: String, _ params: [String: JSON]) -> JSON {
            let m = results(report, scenario, params)
            XCTAssertEqual(m.count, 1, "\(scenario) \(params)")
            return m.first ?? .null
        }
        func rpcs(_ r: JSON, _ type: String? = nil) -> Double? {
            type.map { r["rpcs_by_type"]?[$0]?.number ?? 0 } ?? r["rpcs_per_op"]?.number
        }
        // mkdir + rmdir in Exclusive: Tumkdir on the cached parent, Tunlinkat(AT_REMOVEDIR); no dentry made.
        let mk = one("mkdir-rmdir", ["mode": .string("exclusive")])
        XCTAssertEqual(rpcs(mk), 2)
        XCTAssertEqual(rpcs(mk, "Tumkdir"), 1)
        XCTAssertEqual(rpcs(mk, "Tunlinkat"), 1)
        // rename there and back in Exclusive: two Trenameat on the cached folder.
        let rn = one("rename", ["mode": .string("exclusive")])
        XCTAssertEqual(rpcs(rn), 2)
        XCTAssertEqual(rpcs(rn, "Trenameat"), 2)
        // readlink: cached in Exclusive, one Treadlink per op in Shared (after revalidating the path).
        XCTAssertEqual(rpcs(one("readlink", ["mode": .string("exclusive")])), 0)
        XCTAssertEqual(rpcs(one("readlink", ["mode": .string("shared")]), "Treadlink"), 1)
        // readdir of 50 entries: the listing is cached when warm in Exclusive; cold it is opened and read again.
        XCTAssertEqual(rpcs(one("readdir", ["mode": .string("exclusive"), "state": .string("warm")])), 0)
        let cold = one("readdir", ["mode": .string("exclusive"), "state": .string("cold")])
        XCTAssertEqual(rpcs(cold, "Tlopen"), 1)
        XCTAssertGreaterThanOrEqual(rpcs(cold, "Treaddir") ?? 0, 2, "at least one batch and the empty one that ends the listing")
        XCTAssertGreaterThan(cold["rpcs_background"]?.number ?? 0, 0, "dropCaches() clunks the folder's fids outside the op")
        // fsync: no RPC with a host FD; over 9P one Twrite and one Tfsync.
        XCTAssertEqual(rpcs(one("fsync", ["mode": .string("shared"), "path": .string("hostfd")])), 0)
        let sync9p = one("fsync", ["mode": .string("shared"), "path": .string("9p")])
        XCTAssertEqual(rpcs(sync9p, "Twrite"), 1)
        XCTAssertEqual(rpcs(sync9p, "Tfsync"), 1)
        XCTAssertEqual(rpcs(sync9p), 2)
        // Random I/O: bytes are ops x unit; over 9P in Shared one Tread/Twrite per op (scatter for 2 blocks).
        for scenario in ["rand-read", "rand-write"] {
            for blocks in [1, 2] {
                let r = one(scenario, ["mode": .string("shared"), "path": .string("9p"), "blocks": .int(blocks)])
                XCTAssertEqual(r["bytes"], .int(12 * blocks * 4096), scenario)
                XCTAssertEqual(rpcs(r, scenario == "rand-read" ? "Tread" : "Twrite"), 1, "\(scenario) blocks \(blocks)")
                XCTAssertNotNil(r.at(path: "throughput.mib_per_s.median")?.number)
                let host = one(scenario, ["mode": .string("shared"), "path": .string("hostfd"), "blocks": .int(blocks)])
                XCTAssertEqual(rpcs(host), 0)
            }
        }
        // Every latency summary is ordered (HdrHistogram percentiles).
        for r in all {
            let l = ["p50", "p90", "p99", "p999", "max"].map { r["latency_ns"]?[$0]?.number ?? -1 }
            XCTAssertGreaterThan(l[0], 0)
            XCTAssertEqual(l, l.sorted(), "\(r["scenario"]?.string ?? "?"): \(l)")
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
        let r = try XCTUnwrap(results(try readJSON(out.appending("report.json")), "create-unlink").first)
        // What the filesystem does for open(O_CREAT|O_EXCL) + close + unlink of a name it saw unlinked before:
        //   (no Twalkgetattr: the warm-up op's unlink left a negative dentry, so the ENOENT lookup is a cache hit)
        //   Twalk(parent, [])       clone the parent's fid for the new file
        //   Tucreate(clone, "f")    create + open it (the clone now names the open file, with the host FD)
        //   Twalkgetattr(parent, ["f"])  the new dentry's own fid and attributes
        //   (close: nothing in Exclusive, the handle lives with the dentry)
        //   Tunlinkat(parent, "f")  remove it; the dentry goes stale
        // and outside the op, fs.reclaim() clunks the stale dentry's fid and its handle's (2 background RPCs).
        XCTAssertEqual(r["rpcs_per_op"]?.number, 4)
        for t in ["Twalk", "Tucreate", "Twalkgetattr", "Tunlinkat"] { XCTAssertEqual(r["rpcs_by_type"]?[t]?.number, 1, t) }
        XCTAssertEqual(r["rpcs_background"]?.number, 2)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map { try JSON.parse(String($0)) }
        var perOp: [Int: [String]] = [:]
        for l in lines { if let op = l["op"]?.number { perOp[Int(op), default: []].append(l["type"]?.string ?? "?") } }
        XCTAssertEqual(perOp.count, 5)
        for (op, types) in perOp { XCTAssertEqual(types, ["Twalk", "Tucreate", "Twalkgetattr", "Tunlinkat"], "op \(op)") }
        XCTAssertEqual(lines.filter { $0["op"]?.isNull == true }.map { $0["type"]?.string }, Array(repeating: "Tclunk", count: 10))
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
        let report = try readJSON(out.appending("report.json"))
        let all = report["results"]?.array ?? []
        XCTAssertEqual(all.map { $0["status"]?.string }, ["ok", "ok", "ok"])
        XCTAssertTrue(all.allSatisfy { $0.at(path: "server.kind")?.string == "builtin" })
        XCTAssertEqual(results(report, "create-unlink").first?["rpcs_per_op"]?.number, 4)
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
