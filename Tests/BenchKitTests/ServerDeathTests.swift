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
        let r = try readReport(out.appending("report.json")).results.first
        XCTAssertEqual(r?.rpcsPerOp, 11, "the seed's VFS1 listing")
        XCTAssertEqual(r?.server.kind, "builtin")
        XCTAssertEqual(r?.server.version, "9P2000.L.Google.13")
        XCTAssertEqual(openDescriptorCount(), before, "no descriptor leaked by the run")
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
