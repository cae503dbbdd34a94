import BenchKit
import BenchReport
import Foundation
import HostSupport
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `--rounds K`: every combination measured in K rounds, each a share of its repetitions with a fresh instance.
final class RoundsTests: XCTestCase {
    /// A small plan whose every count is exact per op, on the inproc server: no cache that fills differently, and a file
    /// large enough that no sequential op wraps at its end (each round's fresh instance starts at offset 0).
    static let plan = ["--server", "inproc", "--scenario", "stat,seq-read,seq-write,null-rpc", "--ops", "3", "--repetitions", "4",
                       "--warmup", "1", "--mode", "exclusive,shared", "--resolver", "vfs2", "--state", "warm,replaced", "--depth", "3",
                       "--path", "hostfd,9p", "--blocks", "1,2", "--block-size", "4K", "--file-size", "256K", "--multiblock", "scatter",
                       "--threads", "1,2"]

    func testRoundsGiveEveryCombinationItsRepetitionsAndTheSameExactCountsAsOneRound() throws {
        let (one, outOne) = try benchRun(Self.plan + ["--rounds", "1"])
        defer { outOne.remove() }
        let (three, outThree) = try benchRun(Self.plan + ["--rounds", "3"])
        defer { outThree.remove() }
        XCTAssertEqual(one.exitCode, 0)
        XCTAssertEqual(three.exitCode, 0)
        XCTAssertEqual(try schemaViolations(outThree.appending("report.json")), [])
        XCTAssertEqual(try schemaViolations(outOne.appending("report.json")), [])
        let a = try readReport(outOne.appending("report.json")), b = try readReport(outThree.appending("report.json"))
        XCTAssertEqual(a.context.rounds, 1)
        XCTAssertEqual(b.context.rounds, 3)
        XCTAssertEqual(try JSONValue(contentsOf: outThree.appending("report.json")).at(path: "context.rounds"), .int(3))
        XCTAssertNil(try JSONValue(contentsOf: outOne.appending("report.json")).at(path: "context.rounds"), "one round: no key, as before")
        XCTAssertEqual(b.context.roundDrift?.count, 3, "each round's drift, estimated from the 40 results")
        XCTAssertTrue(b.context.roundDrift?.allSatisfy { $0 > 0 && $0.isFinite } == true)
        XCTAssertNil(a.context.roundDrift, "one round: no drift")
        // The same combinations in the same order, each reported once.
        XCTAssertEqual(a.results.map(\.scenario), b.results.map(\.scenario))
        XCTAssertEqual(a.results.map(\.params), b.results.map(\.params))
        XCTAssertEqual(a.results.map(\.status), b.results.map(\.status))
        XCTAssertEqual(b.results.filter { $0.status == .ok }.count, 2 * 2 * 2 - 2 + 2 * 2 * 2 * 2 + 2 * 2 * 2 * 2 + 2,
                       "stat (threaded replaced is skipped), seq-read, seq-write, null-rpc")
        for (x, y) in zip(a.results, b.results) where x.status == .ok {
            let name = "\(y.scenario) \(y.params)"
            XCTAssertEqual(y.repetitions, 4, name)
            XCTAssertEqual(y.throughput?.opsPerS.samples.count, 4, name)
            XCTAssertEqual(y.ops, 12, name)
            XCTAssertEqual(y.ops, x.ops, name)
            XCTAssertEqual(y.bytes, x.bytes, name)
            XCTAssertNotNil(y.latency?.p50, name)
            XCTAssertNotNil(y.cpu?.client, name)
            // Exclusive 9P reads fill the client's pages a chunk at a time: which op pays the Tread depends on the offset
            // the round's fresh instance started at (0), not on the op, so only those counts may differ.
            if y.scenario == "seq-read" && y.params[.mode] == .text("exclusive") && y.params[.path] == .text("9p") { continue }
            XCTAssertEqual(y.rpcsPerOp, x.rpcsPerOp, name)
            XCTAssertEqual(y.rpcsByType, x.rpcsByType, name)
            XCTAssertEqual(y.rpcsBackground, x.rpcsBackground, name)
            XCTAssertEqual(y.wireBytesPerOp, x.wireBytesPerOp, name)
            XCTAssertEqual(y.bytesCopiedPerOp, x.bytesCopiedPerOp, name)
            XCTAssertEqual(y.perThread?.count, x.perThread?.count, name)
            XCTAssertEqual(y.warnings.filter { $0.contains("rounds") }, [], name)
        }
        // The design's counts, so that the comparison is not of two empty tallies.
        let replaced = results(b, "stat", [.mode: .text("shared"), .state: .text("replaced"), .threads: .int(1)])[0]
        XCTAssertEqual(replaced.rpcsPerOp, 6)
        XCTAssertEqual(replaced.rpcsByType["Tclunk"], 2)
        XCTAssertGreaterThan(replaced.rpcsBackground ?? 0, 0)
        XCTAssertTrue(results(b, "null-rpc").allSatisfy { $0.rpcsPerOp == 1 })
        let threaded = results(b, "stat", [.mode: .text("shared"), .state: .text("warm"), .threads: .int(2)])[0]
        XCTAssertEqual(threaded.perThread?.count, 2)
        let exclusiveWrite = results(b, "seq-write", [.mode: .text("exclusive"), .path: .text("9p"), .blocks: .int(1),
                                                      .threads: .int(1)])[0]
        XCTAssertGreaterThan(exclusiveWrite.rpcsByType["Twrite"] ?? 0, 0, "each repetition's write-back, in every round")
    }

    func testRoundsBeyondTheRepetitionsAreCappedAtOnePerRepetition() throws {
        XCTAssertEqual(try RunOptions.parse(["--rounds", "5", "--repetitions", "2"]).effectiveRounds, 2)
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "null-rpc", "--threads", "1", "--ops", "2",
                                           "--repetitions", "2", "--warmup", "0", "--rounds", "5"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(outcome.report.context.rounds, 2)
        XCTAssertEqual(try readReport(out.appending("report.json")).context.rounds, 2)
        XCTAssertEqual(outcome.report.results.map(\.repetitions), [2])
        XCTAssertEqual(outcome.report.results.map(\.ops), [4])
    }

    func testRoundsMustBeAPositiveNumber() {
        for bad in ["0", "-1", "two", ""] {
            let m = usageError(["--rounds", bad])
            XCTAssertTrue(m?.contains("--rounds") == true && m?.contains("positive number of rounds") == true, "\(bad): \(m ?? "accepted")")
        }
        XCTAssertEqual(BenchCLI.main(["run", "--rounds", "0"]), 64)
    }

    func testQuickAndFullSpreadOverRoundsAndCIAndScenarioRunsKeepOne() throws {
        XCTAssertEqual(try RunOptions.parse([]).effectiveRounds, 10, "the quick suite")
        XCTAssertEqual(try RunOptions.parse(["--suite", "quick"]).effectiveRounds, 10)
        XCTAssertEqual(try RunOptions.parse(["--suite", "full"]).effectiveRounds, 10, "one repetition a round")
        XCTAssertEqual(try RunOptions.parse(["--suite", "ci"]).effectiveRounds, 1)
        XCTAssertEqual(try RunOptions.parse(["--suite", "ci-diod"]).effectiveRounds, 1)
        XCTAssertEqual(try RunOptions.parse(["--scenario", "stat"]).effectiveRounds, 1)
        XCTAssertEqual(try RunOptions.parse(["--suite", "full", "--scenario", "stat"]).effectiveRounds, 1)
        XCTAssertEqual(try RunOptions.parse(["--scenario", "stat", "--rounds", "3"]).effectiveRounds, 3)
        XCTAssertEqual(try RunOptions.parse(["--suite", "ci", "--rounds", "2"]).effectiveRounds, 2)
        XCTAssertEqual(try RunOptions.parse(["--suite", "quick", "--repetitions", "3"]).effectiveRounds, 3)
        // Each round warms its fresh instance up with its share of the warm-up ops; one round with all of them.
        let quick = try RunOptions.parse([])
        XCTAssertEqual([1, 2, 20].map(quick.warmup(forRepetitions:)), [2, 4, 40])
        let full = try RunOptions.parse(["--suite", "full"])
        XCTAssertEqual([2, 10].map(full.warmup(forRepetitions:)), [10, 50])
        let few = try RunOptions.parse(["--warmup", "1", "--repetitions", "4"])
        XCTAssertEqual([1, 4].map(few.warmup(forRepetitions:)), [1, 1])
        XCTAssertEqual(try RunOptions.parse(["--warmup", "0"]).warmup(forRepetitions: 1), 0)
    }

    /// The limits are sampled in every round: the run's figures are there, and the echo peers kept for the run are gone
    /// with it.
    func testLimitsAreSampledAcrossTheRounds() throws {
        let descriptorsBefore = openDescriptorCount()
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "seq-read", "--mode", "shared", "--path", "9p",
                                           "--blocks", "1", "--block-size", "4K", "--file-size", "64K", "--multiblock", "scatter",
                                           "--threads", "1", "--ops", "2", "--repetitions", "2", "--warmup", "0", "--rounds", "2"],
                                          limits: true)
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let limits = outcome.report.context.limits
        XCTAssertGreaterThan(limits.socketRTTus ?? 0, 0)
        XCTAssertGreaterThan(limits.socketStreamGiBs ?? 0, 0)
        XCTAssertGreaterThan(limits.memcpyGiBs ?? 0, 0)
        XCTAssertFalse(limits.data.isEmpty)
        XCTAssertTrue(limits.data.allSatisfy { ($0.gibS ?? 0) > 0 }, "\(limits.data)")
        XCTAssertNotNil(outcome.report.results.first?.vsLimit, "judged against the run's limits")
        XCTAssertEqual(limits.placement?.serverCPUs.isEmpty, false, "the run placement's peer read back")
        XCTAssertTrue(waitUntil { openDescriptorCount() == descriptorsBefore }, "no descriptor left by the run's peers")
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
    }

    /// A combination that fails in a later round is reported once, failed, with what its earlier rounds measured.
    func testAFailureInALaterRoundFailsTheCombinationOnce() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "stat,null-rpc", "--mode", "exclusive",
                                           "--resolver", "vfs2", "--state", "warm", "--depth", "3", "--threads", "1",
                                           "--ops", "5", "--repetitions", "2", "--warmup", "1", "--rounds", "2"]) { runner in
            runner.killServerAfterResults = 2  // after round 1: stat and null-rpc measured once each
        }
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 3)
        let r = try readReport(out.appending("report.json")).results
        XCTAssertEqual(r.map(\.scenario), ["stat", "null-rpc"], "each once, in plan order")
        XCTAssertEqual(r.map(\.status), [.failed, .failed])
        XCTAssertEqual(r.map(\.repetitions), [1, 1], "round 1's share, kept")
        XCTAssertTrue(r.allSatisfy { !($0.error ?? "").isEmpty })
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
    }

    /// SIGINT in round 2: the run stops after the combination it interrupted, and the report holds every combination
    /// measured so far, merged over the rounds done and saying so.
    func testAnInterruptKeepsTheRoundsDone() throws {
        let bench = try requireExecutable("bench")
        let out = try TemporaryDirectory(prefix: "bench-rounds-int")
        defer { out.remove() }
        // Two combinations of 1 s repetitions in 3 rounds: about 6 s unless stopped.
        let child = try ChildProcess([bench, "run", "--server", "inproc", "--scenario", "stat,null-rpc", "--mode", "shared",
                                      "--resolver", "vfs2", "--state", "warm", "--depth", "3", "--threads", "1",
                                      "--repetitions", "3", "--rounds", "3", "--duration", "1s", "--warmup", "1", "--no-limits",
                                      "--out", out.appending("report")], log: out.appending("bench.log"))
        defer { child.stop(timeout: 5, signal: SIGKILL) }
        func log() -> String { (try? String(contentsOfFile: out.appending("bench.log"), encoding: .utf8)) ?? "" }
        // Round 2's stat is done (the progress line), so its null-rpc is being measured.
        XCTAssertTrue(waitUntil(timeout: 60) { log().contains("round 2/3 stat 1/1") || child.hasExited }, log())
        XCTAssertFalse(child.hasExited, log())
        child.signal(SIGINT)
        XCTAssertTrue(waitUntil(timeout: 30) { child.hasExited }, "bench stops on SIGINT")
        let status = try XCTUnwrap(child.status)
        XCTAssertEqual((status >> 8) & 0xFF, 1, "an interrupted run exits 1")
        let report = try readReport(out.appending("report/report.json"))
        XCTAssertEqual(report.context.rounds, 3)
        XCTAssertEqual(report.results.map(\.scenario), ["stat", "null-rpc"], log())
        XCTAssertEqual(report.results.map(\.status), [.ok, .failed])
        XCTAssertEqual(report.results.map(\.repetitions), [2, 1], "the rounds done: stat in 2, null-rpc in 1 before the interrupt")
        XCTAssertEqual(report.results[0].warnings.filter { $0.hasPrefix("measured in 2 of 3 rounds (the run was interrupted): 2 of 3 repetitions") }.count, 1,
                       "\(report.results[0].warnings)")
        XCTAssertEqual(report.results[0].rpcsPerOp, 7, "shared warm depth 3: 2N+1")
        XCTAssertEqual(report.results[1].error, "interrupted (SIGINT or SIGTERM)")
        XCTAssertEqual(try schemaViolations(out.appending("report/report.json")), [])
    }

    /// `--clients 2` in 2 rounds: the clients' tallies add up by client over the rounds.
    func testClientProcessesInRounds() throws {
        let exe = try requireExecutable("bench")
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "null-rpc", "--ops", "10", "--repetitions", "2",
                                           "--warmup", "1", "--clients", "2", "--rounds", "2"]) { $0.serverExecutable = exe }
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let r = try XCTUnwrap(outcome.report.results.first)
        XCTAssertEqual(r.status, .ok, r.error ?? "")
        XCTAssertEqual(r.repetitions, 2)
        XCTAssertEqual(r.ops, 20)
        XCTAssertEqual(r.rpcsPerOp, 1)
        XCTAssertEqual(r.perClient?.count, 2)
    }
}
