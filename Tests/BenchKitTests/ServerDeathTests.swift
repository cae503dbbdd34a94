import BenchKit
import BenchReport
import Foundation
import TestSupport
import XCTest

final class ServerDeathTests: XCTestCase {
    /// The `bench` executable beside the test bundle (swift test builds it with the package).
    var benchExecutable: String {
        URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
            .deletingLastPathComponent().appendingPathComponent("bench").path
    }

    func assertDeathRecorded(_ server: String, executable: String? = nil) throws {
        let (outcome, out) = try benchRun(["--server", server, "--scenario", "stat,null-rpc", "--mode", "exclusive",
                                           "--resolver", "vfs2", "--state", "warm", "--depth", "3", "--threads", "1",
                                           "--ops", "5", "--repetitions", "1", "--warmup", "1"]) { runner in
            runner.killServerAfterResults = 1
            if let executable { runner.serverExecutable = executable }
        }
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 3)
        let r = try readReport(out.appending("report.json")).results
        XCTAssertEqual(r.map(\.status), [.ok, .failed])
        XCTAssertEqual(r.last?.scenario, "null-rpc")
        XCTAssertFalse((r.last?.error ?? "").isEmpty)
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appending("report.csv")))
    }

    func testInprocServerDyingMidRunExits3WithTheFailureRecorded() throws {
        try assertDeathRecorded("inproc")
    }

    func testBuiltinChildKilledMidRunExits3WithTheFailureRecorded() throws {
        guard FileManager.default.isExecutableFile(atPath: benchExecutable) else {
            throw XCTSkip("the bench executable is not built beside the tests (\(benchExecutable)); run swift build first")
        }
        try assertDeathRecorded("builtin", executable: benchExecutable)
    }

    func testBuiltinChildServesAndStopsWithTheRun() throws {
        guard FileManager.default.isExecutableFile(atPath: benchExecutable) else {
            throw XCTSkip("the bench executable is not built beside the tests (\(benchExecutable)); run swift build first")
        }
        let before = openDescriptorCount()
        let (outcome, out) = try benchRun(["--scenario", "stat", "--mode", "shared", "--resolver", "vfs1", "--state", "replaced",
                                           "--depth", "3", "--ops", "3", "--repetitions", "1", "--warmup", "1"]) {
            $0.serverExecutable = benchExecutable
        }
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(outcome.fidsLeft, ["builtin": 0], "every fid the scenario took was clunked")
        let r = try readReport(out.appending("report.json")).results.first
        XCTAssertEqual(r?.rpcsPerOp, 11, "the seed's VFS1 listing")
        XCTAssertEqual(r?.server.kind, "builtin")
        XCTAssertEqual(r?.server.version, "9P2000.L.Google.13")
        XCTAssertEqual(openDescriptorCount(), before, "no descriptor leaked by the run")
    }

    /// The builtin child stops answering (SIGSTOP) after the first result: with `--rpc-timeout` the next call fails
    /// by the deadline, the results that needed the connection fail naming it, and the report is written (exit 3).
    func testServerThatStopsAnsweringFailsTheRunByTheRPCTimeoutWithTheReportWritten() throws {
        let bench = try requireExecutable("bench")
        let descriptorsBefore = openDescriptorCount()
        let threadsBefore = threadIDs()
        let started = ContinuousClock.now
        let (outcome, out) = try benchRun(["--scenario", "stat,null-rpc,seq-read", "--mode", "shared", "--resolver", "vfs2",
                                           "--state", "warm", "--depth", "3", "--threads", "1", "--path", "9p", "--blocks", "1",
                                           "--block-size", "4K", "--multiblock", "buffered", "--file-size", "64K",
                                           "--ops", "5", "--repetitions", "1", "--warmup", "1", "--rpc-timeout", "300ms"]) { runner in
            runner.serverExecutable = bench
            runner.suspendServerAfterResults = 1
        }
        let took = ContinuousClock.now - started
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 3)
        let r = try readReport(out.appending("report.json")).results
        XCTAssertEqual(r.map(\.scenario), ["stat", "seq-read", "null-rpc"], "in declared order")
        XCTAssertEqual(r.map(\.status), [.ok, .failed, .failed])
        XCTAssertEqual(r.map { $0.params[.rpcTimeout] }, Array(repeating: .text("300ms"), count: 3))
        // The first call after the stop times out; the connection it broke fails the next result at once.
        XCTAssertTrue(r[1].error?.contains("got no reply within 0.3 seconds; the connection is closed") == true, r[1].error ?? "nil")
        XCTAssertTrue(r[2].error?.contains("9P connection closed: no reply to") == true, r[2].error ?? "nil")
        XCTAssertTrue(r[2].error?.contains("within 0.3 seconds") == true, r[2].error ?? "nil")
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let csv = try String(contentsOfFile: out.appending("report.csv"), encoding: .utf8)
        XCTAssertTrue(csv.split(separator: "\n").first?.contains("params.rpc_timeout") == true)
        XCTAssertEqual(csv.split(separator: "\n").filter { $0.contains("got no reply within") }.count, 1)
        XCTAssertEqual(outcome.fidsLeft, ["builtin": 0], "a failed call frees its fid; the scenarios clunked the rest")
        // The run waits for no reply beyond the deadlines (the measured call's and the fixtures' removal's), and the
        // suspended server is resumed to exit (stopping it otherwise takes 5 s).
        print("rpc-timeout: the run with a server stopped after its first result took \(took)")
        XCTAssertLessThan(took, .seconds(5))
        XCTAssertTrue(waitUntil { openDescriptorCount() == descriptorsBefore }, "no descriptor left by the run")
        XCTAssertTrue(waitUntil { threadsStarted(since: threadsBefore).isEmpty }, "no thread left by the run: \(threadsStarted(since: threadsBefore))")
    }

    func testDiodServerStartedByTheBench() throws {
        guard Diod.isInstalled else { throw XCTSkip("diod is not installed at /usr/sbin/diod (run scripts/bootstrap)") }
        let (outcome, out) = try benchRun(["--server", "diod", "--scenario", "stat,seq-read", "--mode", "shared", "--resolver", "vfs2",
                                           "--state", "replaced", "--depth", "3", "--path", "hostfd,9p", "--blocks", "1",
                                           "--block-size", "64K", "--multiblock", "buffered", "--file-size", "256K",
                                           "--ops", "3", "--repetitions", "1", "--warmup", "1"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let report = try readReport(out.appending("report.json"))
        let stat = results(report, "stat").first
        XCTAssertEqual(stat?.rpcsPerOp, 9, "VFS2 Shared on plain 9P2000.L, replaced: 3N")
        XCTAssertEqual(stat?.server.extensions, [])
        XCTAssertEqual(stat?.server.msize, 65536)
        let host = results(report, "seq-read", [.path: .text("hostfd")]).first
        XCTAssertEqual(host?.status, .skipped)
        XCTAssertTrue(host?.error?.contains("donates no host FDs") == true)
        XCTAssertEqual(results(report, "seq-read", [.path: .text("9p")]).first?.status, .ok)
    }
}

/// Threads of this process.
