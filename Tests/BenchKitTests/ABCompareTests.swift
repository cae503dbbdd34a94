import BenchReport
import Foundation
import HostSupport
import TestSupport
import XCTest

/// `scripts/ab-compare`: two bench builds run in alternation, each side pooled, then compared.
final class ABCompareTests: XCTestCase {
    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/ab-compare").path

    /// Runs the script with `args`; its exit code and output.
    private func abCompare(_ args: [String], in dir: TemporaryDirectory) throws -> (code: Int32, output: String) {
        let log = dir.appending("ab-compare.log")
        let child = try ChildProcess(["/bin/bash", Self.script] + args, log: log)
        let status = child.wait()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return ((status >> 8) & 0xFF, output)
    }

    func testRunsAlternateAndEachSideIsPooled() throws {
        let bench = try requireExecutable("bench")
        let dir = try TemporaryDirectory(prefix: "ab-compare")
        defer { dir.remove() }
        let out = dir.appending("ab")
        let (code, output) = try abCompare([bench, bench, "--pairs", "2", "--out", out, "--",
                                            "--server", "inproc", "--scenario", "null-rpc", "--ops", "20",
                                            "--repetitions", "3", "--warmup", "1", "--no-limits"], in: dir)
        XCTAssertEqual(code, 0, output)
        let order = output.split(separator: "\n").filter { $0.hasPrefix("ab-compare: pair") }
            .map { String($0.split(separator: " ")[3]) }
        XCTAssertEqual(order, ["old", "new", "new", "old"], "A B, then B A")
        var rows = 0
        for run in ["old-1", "new-1", "new-2", "old-2"] {
            let report = try readReport(out + "/\(run)/report.json")
            XCTAssertFalse(report.results.isEmpty, run)
            XCTAssertTrue(report.results.allSatisfy { $0.status == .ok && $0.repetitions == 3 }, run)
            rows = report.results.count
        }
        // Pooled: one row per result (ops/s), not one per run.
        let compare = try String(contentsOfFile: out + "/compare.txt", encoding: .utf8)
        XCTAssertTrue(compare.contains("\n\(rows) rows: "), compare)
        XCTAssertTrue(output.contains(compare.split(separator: "\n").last.map(String.init) ?? "?"), "compare is printed")
    }

    func testUsageErrorsCreateNothing() throws {
        let bench = try requireExecutable("bench")
        let dir = try TemporaryDirectory(prefix: "ab-compare-usage")
        defer { dir.remove() }
        let out = dir.appending("ab")
        for (args, message) in [([bench], "give two bench executables"),
                                ([dir.appending("missing"), bench], "is not an executable"),
                                ([bench, bench, "--pairs", "0"], "--pairs takes a positive count"),
                                ([bench, bench, "--frobnicate"], "unknown option --frobnicate")] {
            let (code, output) = try abCompare(args + ["--out", out], in: dir)
            XCTAssertEqual(code, 64, output)
            XCTAssertTrue(output.contains(message), output)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing is created on a usage error")
        }
        // An existing folder is refused and left as it was.
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        try dir.write("ab/keep", [1])
        let (code, output) = try abCompare([bench, bench, "--out", out], in: dir)
        XCTAssertEqual(code, 64, output)
        XCTAssertTrue(output.contains("exists"), output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["keep"])
    }

    func testAFailedRunStopsTheComparison() throws {
        let bench = try requireExecutable("bench")
        let dir = try TemporaryDirectory(prefix: "ab-compare-fail")
        defer { dir.remove() }
        let out = dir.appending("ab")
        // Nothing listens there: the run's results fail.
        let (code, output) = try abCompare([bench, bench, "--out", out, "--", "--server", "unix:" + dir.appending("nobody.sock"),
                                            "--scenario", "null-rpc", "--ops", "5", "--repetitions", "1", "--no-limits"], in: dir)
        XCTAssertNotEqual(code, 0, output)
        XCTAssertTrue(output.contains("the old run of pair 1 exited"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/compare.txt"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/new-1"), "no run after the failed one")
    }
}
