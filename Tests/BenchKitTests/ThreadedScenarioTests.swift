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
}
