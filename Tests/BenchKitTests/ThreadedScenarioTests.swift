import BenchKit
import BenchReport
import Foundation
import TestSupport
import XCTest

/// `--threads` and `--sharing` on stat and seq-read: rows carry both, every thread's ops count, RPCs stay per op.
final class ThreadedScenarioTests: XCTestCase {
    func testThreadedStatAndSeqReadRunPrivateAndShared() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "stat,seq-read", "--ops", "40",
                                           "--repetitions", "1", "--warmup", "1", "--mode", "shared", "--resolver", "vfs2",
                                           "--state", "warm", "--depth", "3", "--path", "9p", "--blocks", "1",
                                           "--block-size", "4K", "--multiblock", "buffered", "--file-size", "64K",
                                           "--threads", "1,4", "--sharing", "private,shared"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let report = try readReport(out.appending("report.json"))
        for scenario in ["stat", "seq-read"] {
            for threads in [1, 4] {
                for sharing in ["private", "shared"] {
                    let rows = results(report, scenario, [.threads: .int(threads), .sharing: .text(sharing)])
                    XCTAssertEqual(rows.count, 1, "\(scenario) threads \(threads) \(sharing)")
                    guard let r = rows.first else { continue }
                    XCTAssertEqual(r.status, .ok, "\(scenario) threads \(threads) \(sharing): \(r.error ?? "")")
                    XCTAssertEqual(r.ops, 40)
                    // Shared warm stat at depth 3 is 2N+1 RPCs (N = 3) on any number of threads; a 4K read is one Tread.
                    XCTAssertEqual(r.rpcsPerOp, scenario == "stat" ? 7 : 1, "\(scenario) threads \(threads) \(sharing)")
                }
            }
        }
    }

    /// Every other threaded scenario, 4 threads private and shared against 1: every row ok, each thread ran ops, and an
    /// op sends as many RPCs as on one thread (Exclusive caches: the counts cannot depend on another thread's timing).
    func testEveryThreadedScenarioRunsPrivateAndShared() throws {
        let scenarios = ["open-read-close", "seq-write", "rand-read", "rand-write", "create-unlink", "mkdir-rmdir", "readlink", "rename"]
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", scenarios.joined(separator: ","), "--ops", "40",
                                           "--repetitions", "1", "--warmup", "1", "--mode", "exclusive", "--resolver", "vfs2",
                                           "--path", "9p", "--blocks", "1", "--block-size", "4K", "--multiblock", "buffered",
                                           "--file-size", "64K", "--threads", "1,4", "--sharing", "private,shared"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let report = try readReport(out.appending("report.json"))
        for scenario in scenarios {
            for sharing in ["private", "shared"] {
                let one = results(report, scenario, [.threads: .int(1), .sharing: .text(sharing)])
                let four = results(report, scenario, [.threads: .int(4), .sharing: .text(sharing)])
                XCTAssertEqual(one.count, 1, "\(scenario) \(sharing)")
                XCTAssertEqual(four.count, 1, "\(scenario) \(sharing)")
                guard let a = one.first, let b = four.first else { continue }
                XCTAssertEqual(a.status, .ok, "\(scenario) 1 \(sharing): \(a.error ?? "")")
                XCTAssertEqual(b.status, .ok, "\(scenario) 4 \(sharing): \(b.error ?? "")")
                XCTAssertEqual(b.ops, 40)
                XCTAssertNil(a.perThread, "\(scenario): one thread has no spread")
                XCTAssertEqual(b.perThread?.count, 4, scenario)
                XCTAssertGreaterThan(b.perThread?.opsPerS.min ?? 0, 0, "\(scenario) \(sharing): a thread ran no op")
                XCTAssertEqual(b.perThread?.mibPerS != nil, ScenarioSpec.named(scenario)!.movesBytes, scenario)
                if !scenario.hasSuffix("write") && !scenario.hasPrefix("rand") {
                    // Writes in Exclusive are written back by the repetition's fsync (one per file, amortized over its
                    // ops), and each thread draws its own random offsets (the page cache misses differ).
                    XCTAssertEqual(b.rpcsPerOp, a.rpcsPerOp, "\(scenario) \(sharing): RPCs per op on 4 threads")
                }
            }
        }
        // The CSV carries the spread's columns (only because a row has one).
        let header = try String(contentsOfFile: out.appending("report.csv"), encoding: .utf8).split(separator: "\n").first ?? ""
        XCTAssertTrue(header.hasSuffix("per_thread.count,per_thread.ops_per_s.min,per_thread.ops_per_s.max,per_thread.mib_per_s.min,per_thread.mib_per_s.max"))
    }

    /// `--clients 2`: two `bench client` processes on connections of their own, their ops summed, RPCs per op as one.
    func testClientProcessesAgainstOneServer() throws {
        let exe = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
            .deletingLastPathComponent().appendingPathComponent("bench").path
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            throw XCTSkip("the bench executable is not built beside the tests (\(exe)); run swift build first")
        }
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "null-rpc,stat,create-unlink", "--ops", "40",
                                           "--repetitions", "2", "--warmup", "1", "--mode", "shared", "--resolver", "vfs2",
                                           "--state", "warm", "--depth", "3", "--clients", "1,2"]) { $0.serverExecutable = exe }
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let report = try readReport(out.appending("report.json"))
        for (scenario, rpcs) in [("null-rpc", 1.0), ("stat", 7.0), ("create-unlink", 16.0)] {
            for clients in [1, 2] {
                let rows = results(report, scenario, [.clients: .int(clients)]).filter {
                    $0.params[.threads] == nil || $0.params[.threads] == .int(1)
                }
                XCTAssertEqual(rows.count, 1, "\(scenario) clients \(clients)")
                guard let r = rows.first else { continue }
                XCTAssertEqual(r.status, .ok, "\(scenario) clients \(clients): \(r.error ?? "")")
                XCTAssertEqual(r.ops, 80, "\(scenario) clients \(clients): --ops per repetition, split over the clients")
                XCTAssertEqual(r.repetitions, 2)
                XCTAssertEqual(r.rpcsPerOp, rpcs, "\(scenario) clients \(clients)")
                XCTAssertEqual(r.perClient?.count, clients == 1 ? nil : 2, scenario)
                if clients == 2 { XCTAssertGreaterThan(r.perClient?.opsPerS.min ?? 0, 0, scenario) }
            }
        }
    }
}
