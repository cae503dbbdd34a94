import BenchKit
import BenchReport
import Foundation
import HostSupport
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Issue 15: fixtures through the server, the export left as it was found, and a server out of reach failing fast.
final class ServerFixtureTests: XCTestCase {
    /// Every scenario that creates, changes or removes something, tiny, over 9P only.
    static let writingRun = ["--scenario", "stat,open-read-close,seq-write,create-unlink,mkdir-rmdir,readdir,rename,readlink,fsync,rand-write",
                             "--mode", "shared", "--resolver", "vfs2", "--state", "cold,replaced", "--depth", "3", "--path", "9p",
                             "--blocks", "1", "--block-size", "4K", "--file-size", "16K", "--multiblock", "buffered", "--entries", "20",
                             "--ops", "3", "--repetitions", "1", "--warmup", "1"]

    func testGoferdWithAnameSlashOrEmptyTouchesNothingOutsideItsExport() throws {
        let tree = try ExportTree()
        defer { tree.remove() }
        let goferd = try GoferdProcess(root: tree.export)
        defer { goferd.stop() }
        let before = tree.snapshot()
        for aname in ["/", ""] {
            let (outcome, out) = try benchRun(["--server", goferd.address, "--aname", aname] + Self.writingRun + ["--depth", "1,3"])
            defer { out.remove() }
            XCTAssertEqual(outcome.exitCode, 0, "aname \"\(aname)\"")
            let report = try readReport(out.appending("report.json"))
            for r in report.results where !(r.scenario == "readdir" && r.params[.state] == .text("replaced")) {
                XCTAssertEqual(r.status, .ok, "aname \"\(aname)\": \(r.scenario) \(r.params): \(r.error ?? "")")
                XCTAssertEqual(r.server.kind, "external")
            }
            // The measured RPC counts are those against goferd, the fixtures' own connection not among them.
            // The measured connections attach at the scratch folder: depths count from it, as in an export of fixtures.
            let replaced = results(report, "stat", [.state: .text("replaced"), .depth: .int(3)]).first
            XCTAssertEqual(replaced?.rpcsPerOp, 6, "VFS2 Shared, last component replaced: 2N")
            XCTAssertEqual(results(report, "stat", [.state: .text("replaced"), .depth: .int(1)]).first?.rpcsPerOp, 2)
            XCTAssertEqual(replaced?.rpcsByType["Twalkgetattr"], 3)
            XCTAssertNil(replaced?.rpcsByType["Tlcreate"])
            XCTAssertNil(replaced?.rpcsByType["Trenameat"])
            let after = tree.snapshot()
            XCTAssertEqual(after.parent, before.parent, "aname \"\(aname)\": the export's parent and the sentinel are untouched")
            XCTAssertEqual(after.export, before.export, "aname \"\(aname)\": the export holds what it held")
            let rpcs = outcome.fixtureRPCs[goferd.address] ?? [:]
            XCTAssertGreaterThan(rpcs["Tmkdir"] ?? 0, 0, "the scratch folder is made through 9P")
            XCTAssertGreaterThan(rpcs["Trenameat"] ?? 0, 0, "stat replaced renames a new file over the leaf through 9P")
            XCTAssertGreaterThan(rpcs["Tunlinkat"] ?? 0, 0, "the scratch folder is removed through 9P")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: tree.sentinel))
    }

    func testAServerThatRefusesAFolderBelowItsExportGetsTheScratchFolderAsFirstComponent() throws {
        let tree = try ExportTree()
        defer { tree.remove() }
        let goferd = try GoferdProcess(root: tree.export)
        defer { goferd.stop() }
        let before = tree.snapshot()
        let (outcome, out) = try benchRun(["--server", goferd.address, "--aname", "/"] + Self.writingRun + ["--depth", "1,3"]) {
            $0.attachAtScratchFolder = false
        }
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let report = try readReport(out.appending("report.json"))
        for r in report.results where !(r.scenario == "readdir" && r.params[.state] == .text("replaced")) && r.params[.depth] != .int(1) {
            XCTAssertEqual(r.status, .ok, "\(r.scenario) \(r.params): \(r.error ?? "")")
        }
        // Depth counts from the attach root: the scratch folder is the first of 3 components, and depth 1 cannot be.
        let deep = results(report, "stat", [.state: .text("replaced"), .depth: .int(3)]).first
        XCTAssertEqual(deep?.rpcsPerOp, 6, "VFS2 Shared, last component replaced: 2N")
        let shallow = results(report, "stat", [.depth: .int(1)])
        XCTAssertEqual(shallow.map(\.status), [.skipped, .skipped])
        XCTAssertTrue(shallow.allSatisfy { $0.error?.contains("not deeper than the fixture folder") == true })
        let after = tree.snapshot()
        XCTAssertEqual(after.parent, before.parent)
        XCTAssertEqual(after.export, before.export)
    }

    func testSIGTERMMidRunLeavesTheExportAsItWas() throws {
        let bench = try requireExecutable("bench")
        let tree = try ExportTree()
        defer { tree.remove() }
        let goferd = try GoferdProcess(root: tree.export)
        defer { goferd.stop() }
        let out = try TemporaryDirectory(prefix: "bench-term")
        defer { out.remove() }
        let before = tree.snapshot()
        // About a minute of create-unlink unless stopped.
        let child = try ChildProcess([bench, "run", "--server", goferd.address, "--aname", "/", "--scenario", "create-unlink",
                                      "--mode", "shared", "--resolver", "vfs2", "--repetitions", "60", "--duration", "1s",
                                      "--warmup", "1", "--no-limits", "--out", out.appending("report")],
                                     log: out.appending("bench.log"))
        defer { child.stop(timeout: 5, signal: SIGKILL) }
        // Measuring: the scenario's scratch folder exists inside the bench's own folder in the export.
        let measuring = waitUntil(timeout: 60) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: tree.export)) ?? []
            return names.contains { n in
                n.hasPrefix("bench-") && FileManager.default.fileExists(atPath: tree.export + "/" + n + "/scratch/create-unlink-1")
            } || child.hasExited
        }
        XCTAssertTrue(measuring && !child.hasExited, (try? String(contentsOfFile: out.appending("bench.log"), encoding: .utf8)) ?? "")
        XCTAssertNotEqual(tree.snapshot().export, before.export, "the bench's folder is in the export while it runs")
        child.signal(SIGTERM)
        XCTAssertTrue(waitUntil(timeout: 30) { child.hasExited }, "bench stops on SIGTERM")
        let status = try XCTUnwrap(child.status)
        XCTAssertEqual(status & 0x7F, 0, "exited, not killed by the signal")
        XCTAssertEqual((status >> 8) & 0xFF, 1, "an interrupted run exits 1")
        let after = tree.snapshot()
        XCTAssertEqual(after.export, before.export, "the export holds exactly what it held before")
        XCTAssertEqual(after.parent, before.parent)
        let report = try readReport(out.appending("report/report.json"))
        XCTAssertEqual(report.results.last?.error, "interrupted (SIGINT or SIGTERM)")
    }

    func testAgainstDiodTheFixturesAreMadeThrough9P() throws {
        guard Diod.isInstalled else { throw XCTSkip("diod is not installed at /usr/sbin/diod (run scripts/bootstrap)") }
        let tree = try ExportTree()
        defer { tree.remove() }
        let diod = try Diod(export: tree.export)
        defer { diod.stop() }
        let before = tree.snapshot()
        let (outcome, out) = try benchRun(["--server", diod.address.description, "--aname", tree.export,
                                           "--scenario", "stat,seq-read,create-unlink,rename,readdir", "--mode", "shared",
                                           "--resolver", "vfs2", "--state", "replaced,cold", "--depth", "3", "--path", "9p",
                                           "--blocks", "1", "--block-size", "4K", "--file-size", "64K", "--multiblock", "buffered",
                                           "--entries", "20", "--ops", "3", "--repetitions", "1", "--warmup", "1"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let report = try readReport(out.appending("report.json"))
        XCTAssertEqual(results(report, "stat", [.state: .text("replaced")]).first?.rpcsPerOp, 9,
                       "VFS2 Shared on plain 9P2000.L, replaced: 3N")
        XCTAssertTrue(report.results.allSatisfy { $0.status == .ok || $0.params[.state] == .text("replaced") })
        XCTAssertEqual(results(report, "readdir", [.state: .text("cold")]).first?.status, .ok)
        // Made, changed and removed through diod with plain messages and its fallbacks.
        let rpcs = try XCTUnwrap(outcome.fixtureRPCs[diod.address.description])
        XCTAssertGreaterThan(rpcs["Tmkdir"] ?? 0, 0)
        XCTAssertGreaterThan(rpcs["Tlcreate"] ?? 0, 0)
        XCTAssertGreaterThan(rpcs["Twrite"] ?? 0, 0)
        XCTAssertEqual(rpcs["Tmknod"], 20, "the readdir folder's entries, one Tmknod each")
        XCTAssertGreaterThan(rpcs["Trename"] ?? 0, 0, "replaced: Twalk + Trename (diod refuses Trenameat)")
        XCTAssertGreaterThan(rpcs["Tremove"] ?? 0, 0, "clean-up: Twalk + Tremove (diod refuses Tunlinkat)")
        XCTAssertNil(rpcs["Tunlinkat"])
        XCTAssertNil(rpcs["Trenameat"])
        let after = tree.snapshot()
        XCTAssertEqual(after.export, before.export)
        XCTAssertEqual(after.parent, before.parent)
    }

    func testAnUnreachableServerExits1Within2SecondsNamingItWithNoReport() throws {
        let dir = try TemporaryDirectory(prefix: "bench-nosock")
        defer { dir.remove() }
        let address = "unix:" + dir.appending("none.sock")
        var messages: [String] = []
        let start = Date()
        let (outcome, out) = try benchRun(["--server", address, "--scenario", "null-rpc,stat", "--ops", "1", "--repetitions", "1"],
                                          limits: true) { runner in runner.printError = { messages.append($0) } }
        defer { out.remove() }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        XCTAssertEqual(outcome.exitCode, 1)
        XCTAssertEqual(messages, ["bench: cannot reach \(address): connect: No such file or directory"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [], "no report")
        XCTAssertEqual(outcome.paths, [])
        XCTAssertNil(outcome.report.context.limits.socketRTTus, "the server is reached before the limits are measured")
    }

    func testASilentServerExits1Within2Seconds() throws {
        // A listening socket nobody accepts on: connect succeeds (the backlog) and Tversion is never answered.
        let dir = try TemporaryDirectory(prefix: "bench-silent")
        defer { dir.remove() }
        let path = dir.appending("silent.sock")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in _ = path.utf8CString.withUnsafeBytes { memcpy(p.baseAddress!, $0.baseAddress!, $0.count) } }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(listen(fd, 4), 0)
        var messages: [String] = []
        let start = Date()
        let (outcome, out) = try benchRun(["--server", "unix:" + path, "--scenario", "null-rpc", "--ops", "1", "--repetitions", "1"]) {
            runner in runner.printError = { messages.append($0) }
        }
        defer { out.remove() }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        XCTAssertEqual(outcome.exitCode, 1)
        XCTAssertEqual(messages, ["bench: cannot reach unix:\(path): no answer to connect, Tversion and Tattach within 1.5 s"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [])
    }

    func testAnAttachRefusalExits1WithTheServersError() throws {
        let tree = try ExportTree()
        defer { tree.remove() }
        let goferd = try GoferdProcess(root: tree.export)
        defer { goferd.stop() }
        var messages: [String] = []
        let (outcome, out) = try benchRun(["--server", "inproc," + goferd.address, "--aname", "/no-such-folder",
                                           "--scenario", "null-rpc", "--ops", "1", "--repetitions", "1"]) { runner in
            runner.printError = { messages.append($0) }
        }
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 1)
        XCTAssertEqual(messages, ["bench: cannot reach \(goferd.address): attach \"/no-such-folder\": "
                                  + "9P server error: No such file or directory (errno 2)"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [])
    }

    func testTheBenchExecutableExits1Within2SecondsForAMissingSocket() throws {
        let bench = try requireExecutable("bench")
        let dir = try TemporaryDirectory(prefix: "bench-exe")
        defer { dir.remove() }
        let start = Date()
        let child = try ChildProcess([bench, "run", "--server", "unix:/nonexistent.sock", "--out", dir.appending("out")],
                                     log: dir.appending("log"))
        XCTAssertTrue(waitUntil(timeout: 10) { child.hasExited })
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        XCTAssertEqual(((child.status ?? 0) >> 8) & 0xFF, 1)
        let log = try String(contentsOfFile: dir.appending("log"), encoding: .utf8)
        XCTAssertTrue(log.contains("cannot reach unix:/nonexistent.sock: connect: No such file or directory"), log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appending("out")), "no report folder")
    }
}
