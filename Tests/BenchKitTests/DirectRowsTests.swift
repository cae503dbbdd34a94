import BenchKit
import BenchReport
import Foundation
import TestSupport
import XCTest

/// `--resolver direct`: a resolver value where the scenario takes one, extra rows beside the others where it does not.
final class DirectRowsTests: XCTestCase {
    func testDirectRowsAreAddedBesideTheUsualOnes() throws {
        let o = try RunOptions.parse(["--scenario", "seq-read,stat", "--mode", "shared", "--resolver", "vfs2,direct",
                                      "--blocks", "1", "--block-size", "4K", "--multiblock", "buffered,scatter", "--path", "hostfd,9p",
                                      "--depth", "3", "--state", "warm"])
        let stat = o.combinations(of: ScenarioSpec.named("stat")!)
        XCTAssertEqual(stat.map { $0[.resolver] }, [.text("vfs2"), .text("direct")])
        let seq = o.combinations(of: ScenarioSpec.named("seq-read")!)
        // path 2 x multiblock 2 usual rows (no resolver), then one direct row (neither path nor multiblock applies).
        XCTAssertEqual(seq.count, 2 * 2 + 1)
        XCTAssertTrue(seq.prefix(4).allSatisfy { $0[.resolver] == nil && $0[.path] != nil })
        XCTAssertEqual(seq.last?.entries.map(\.0), [.mode, .resolver, .blocks, .blockSize, .fileSize, .msize])
        XCTAssertEqual(seq.last?[.resolver], .text("direct"))
        // Without direct asked for, nothing changes.
        let plain = try RunOptions.parse(["--scenario", "seq-read", "--resolver", "vfs2,multi", "--mode", "shared"])
        XCTAssertTrue(plain.combinations(of: ScenarioSpec.named("seq-read")!).allSatisfy { $0[.resolver] == nil })
    }

    func testATinyDirectRunCostsNoRPCAndValidates() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "stat,open-read-close,create-unlink,readdir,seq-read",
                                           "--ops", "6", "--repetitions", "1", "--warmup", "1", "--mode", "exclusive,shared",
                                           "--resolver", "vfs2,direct", "--state", "warm", "--depth", "3", "--path", "hostfd",
                                           "--blocks", "1", "--block-size", "4K", "--file-size", "64K", "--entries", "20",
                                           "--multiblock", "buffered"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let report = try readReport(out.appending("report.json"))
        let direct = report.results.filter { $0.params[.resolver] == .text("direct") }
        // stat, create-unlink: 2 modes each; open-read-close, readdir, seq-read: a direct row per mode.
        XCTAssertEqual(direct.count, 2 * 5)
        for r in direct {
            XCTAssertEqual(r.status, .ok, "\(r.scenario) \(r.params): \(r.error ?? "")")
            XCTAssertEqual(r.rpcsPerOp, 0, "\(r.scenario) \(r.params)")
            XCTAssertNil(r.params[.path], "\(r.scenario)")
        }
        XCTAssertEqual(results(report, "stat", [.mode: .text("shared"), .resolver: .text("vfs2")]).first?.rpcsPerOp, 7)
    }

    func testDirectDataRowsAreSkippedWhereNoRootIsDonated() throws {
        guard Diod.isInstalled else { throw XCTSkip("diod is not installed (run scripts/bootstrap)") }
        let (outcome, out) = try benchRun(["--server", "diod", "--scenario", "stat,open-read-close", "--ops", "4",
                                           "--repetitions", "1", "--warmup", "1", "--mode", "shared", "--resolver", "direct",
                                           "--state", "warm", "--depth", "3", "--path", "9p", "--block-size", "4K"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let report = try readReport(out.appending("report.json"))
        // stat reports the route it falls back to: vfs2 Shared warm on a plain server, 3N+1.
        XCTAssertEqual(results(report, "stat").first?.rpcsPerOp, 10)
        let row = try XCTUnwrap(results(report, "open-read-close", [.resolver: .text("direct")]).first)
        XCTAssertEqual(row.status, .skipped)
        XCTAssertTrue(row.error?.contains("donated no root") ?? false, row.error ?? "")
    }
}
