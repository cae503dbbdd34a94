import BenchKit
import BenchReport
import Foundation
import XCTest

/// The workload scenario runs a real shell command per op, in a FUSE mount of the filesystem (native: in a scratch folder).
final class WorkloadScenarioTests: XCTestCase {
    /// Runs the workload scenario with `command` on `servers`; returns the records.
    private func workload(_ command: String, servers: String = "inproc,native") throws -> [ResultRecord] {
        let (_, out) = try benchRun(["--server", servers, "--scenario", "workload", "--mode", "exclusive", "--resolver", "vfs2",
                                           "--ops", "3", "--repetitions", "2", "--warmup", "1", "--command", command])
        defer { out.remove() }
        let records = try readReport(out.appending("report.json")).results
        if let skipped = records.first(where: { $0.status == .skipped }) {
            throw XCTSkip("the workload cannot run here: \(skipped.error ?? "?")")
        }
        return records
    }

    func testEachOpRunsTheCommandOnceFromTheMountWithItsOutputChecked() throws {
        // Each run appends a line through the mount and checks it is there: 1 warm-up + 2 x 3 measured runs.
        let records = try workload(#"test "$PWD" = "$MOUNT" && echo run >> log && grep -q run log && test -n "$(cat log)""#)
        XCTAssertEqual(records.count, 2)
        for r in records {
            XCTAssertEqual(r.status, .ok, "\(r.server.kind): \(r.error ?? "")")
            XCTAssertEqual(r.ops, 6, r.server.kind)
            XCTAssertEqual(r.repetitions, 2, r.server.kind)
            XCTAssertEqual(r.workload?.command.contains("$MOUNT"), true, r.server.kind)
        }
        let mounted = try XCTUnwrap(records.first { $0.server.kind != "native" })
        XCTAssertGreaterThan(mounted.rpcsPerOp ?? 0, 0, "the mount's RPCs are counted on the measured connection")
    }

    func testACommandThatFailsFailsTheResultWithItsStatusAndOutput() throws {
        let records = try workload("echo broken-on-purpose >&2; exit 3")
        XCTAssertEqual(records.count, 2)
        for r in records {
            XCTAssertEqual(r.status, .failed, r.server.kind)
            XCTAssertTrue(r.error?.contains("exited with 3") == true, r.error ?? "no error")
            XCTAssertTrue(r.error?.contains("broken-on-purpose") == true, r.error ?? "no error")
        }
    }
}
