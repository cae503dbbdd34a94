import BenchKit
import BenchReport
import Foundation
import XCTest

final class FlagParsingTests: XCTestCase {
    func testSizeAndDurationSuffixes() {
        XCTAssertEqual(Units.parseSize("4K"), 4096)
        XCTAssertEqual(Units.parseSize("64K"), 65536)
        XCTAssertEqual(Units.parseSize("1M"), 1 << 20)
        XCTAssertEqual(Units.parseSize("2G"), 2 << 30)
        XCTAssertEqual(Units.parseSize("4096"), 4096)
        XCTAssertNil(Units.parseSize("4KB"))
        XCTAssertNil(Units.parseSize("K"))
        XCTAssertNil(Units.parseSize("-4K"))
        XCTAssertNil(Units.parseSize("99999999999999999999G"))
        XCTAssertEqual(Units.parseDuration("500ns"), 500)
        XCTAssertEqual(Units.parseDuration("20us"), 20_000)
        XCTAssertEqual(Units.parseDuration("100ms"), 100_000_000)
        XCTAssertEqual(Units.parseDuration("2s"), 2_000_000_000)
        XCTAssertEqual(Units.parseDuration("1.5s"), 1_500_000_000)
        XCTAssertNil(Units.parseDuration("2m"))
        XCTAssertNil(Units.parseDuration("s"))
        XCTAssertNil(Units.parseDuration("0s"))
    }

    func testRPCTimeoutIsOneDurationThatJoinsEveryClientResultsParams() throws {
        XCTAssertNil(try RunOptions.parse([]).rpcTimeout)
        XCTAssertNil(try RunOptions.parse(["--scenario", "stat"]).combinations(of: ScenarioSpec.named("stat")!).first?[.rpcTimeout])
        let o = try RunOptions.parse(["--rpc-timeout", "1.5s", "--scenario", "stat,seq-read", "--server", "builtin,native",
                                      "--resolver", "vfs2,direct"])
        XCTAssertEqual(o.rpcTimeout, .milliseconds(1500))
        for spec in o.scenarioList {
            let rows = o.combinations(of: spec, on: .builtin)
            XCTAssertFalse(rows.isEmpty)
            for p in rows {
                XCTAssertEqual(p[.rpcTimeout], .text("1500ms"), "\(spec.name) \(p)")
                XCTAssertEqual(p.entries.last?.0, .rpcTimeout, "after the scenario's own params")
            }
            XCTAssertTrue(o.combinations(of: spec, on: .native).allSatisfy { $0[.rpcTimeout] == nil }, "native has no client")
        }
        XCTAssertEqual(try RunOptions.parse(["--rpc-timeout=250us"]).rpcTimeout, .microseconds(250))
        XCTAssertEqual(try RunOptions.parse(["--rpc-timeout", "2"]).values[.rpcTimeout], [.text("2s")], "a bare number is seconds")
        for bad in ["0", "0s", "fast", "1s,2s", "-1s", "1e30s"] {
            let m = usageError(["--rpc-timeout", bad])
            XCTAssertTrue(m?.contains("--rpc-timeout") == true && m?.contains("ns|us|ms|s") == true, "\(bad): \(m ?? "accepted")")
        }
        XCTAssertEqual(BenchCLI.main(["run", "--rpc-timeout", "soon"]), 64)
    }

    func testListsAndCrossProduct() throws {
        let o = try RunOptions.parse(["--suite", "ci", "--scenario", "seq-read,stat", "--mode", "shared,exclusive",
                                      "--blocks", "1,4,16", "--block-size=4K,64K", "--depth", "3,20", "--state", "cold",
                                      "--resolver", "vfs2", "--msize", "1M", "--duration", "250ms", "--server", "unix:/tmp/x.sock",
                                      "--format", "json,csv", "--seed", "7", "--uid", "0", "--quiet"])
        XCTAssertEqual(o.suite.name, "ci")
        XCTAssertEqual(o.scenarioList.map(\.name), ["stat", "seq-read"])
        XCTAssertEqual(o.values[.mode], [.text("shared"), .text("exclusive")])
        XCTAssertEqual(o.values[.blocks], [.int(1), .int(4), .int(16)])
        XCTAssertEqual(o.values[.blockSize], [.int(4096), .int(65536)])
        XCTAssertEqual(o.values[.msize], [.int(1 << 20)])
        XCTAssertEqual(o.durationNs, 250_000_000)
        XCTAssertEqual(o.server, .external(.unix("/tmp/x.sock")))
        XCTAssertEqual(o.formats, [.json, .csv])
        XCTAssertEqual(o.seed, 7)
        XCTAssertTrue(o.quiet)
        // stat: mode 2 x resolver 1 x depth 2 x state 1.
        let stat = o.combinations(of: ScenarioSpec.named("stat")!)
        XCTAssertEqual(stat.count, 4)
        XCTAssertEqual(stat.first?.entries.map(\.0), [.mode, .resolver, .depth, .state])
        // seq-read: mode 2 x path 2 (ci) x blocks 3 x block_size 2 x multiblock 2 x file_size 1 x msize 1; no depth/state.
        let seq = o.combinations(of: ScenarioSpec.named("seq-read")!)
        XCTAssertEqual(seq.count, 2 * 2 * 3 * 2 * 2)
        XCTAssertTrue(seq.allSatisfy { $0[.depth] == nil && $0[.state] == nil && $0[.resolver] == nil })
        XCTAssertEqual(try RunOptions.parse(["--mode", "all"]).values[.mode]?.count, 4)
    }

    func testServerTakesAListAndNativeDropsWhatDoesNotApply() throws {
        let o = try RunOptions.parse(["--server", "builtin,diod,native,unix:/tmp/x.sock,builtin", "--format", "json,bmf,gab"])
        XCTAssertEqual(o.servers, [.builtin, .diod, .native, .external(.unix("/tmp/x.sock"))], "in order, once each")
        XCTAssertEqual(o.server, .builtin)
        XCTAssertEqual(o.formats, [.json, .bmf, .gab])
        XCTAssertEqual(try RunOptions.parse([]).formats, [.json, .csv, .svg])
        XCTAssertEqual(ServerSpec.native.kind, "native")
        let seq = try XCTUnwrap(ScenarioSpec.named("seq-read"))
        XCTAssertEqual(o.combinations(of: seq, on: .native).first?.entries.map(\.0), [.blocks, .blockSize, .fileSize])
        XCTAssertEqual(o.combinations(of: seq, on: .builtin), o.combinations(of: seq))
        XCTAssertThrowsError(try RunOptions.parse(["--server", "builtin,unix:/tmp/x.sock", "--server-cpu-node", "0"]))
        XCTAssertTrue(BenchCLI.listText().contains("  native: statx of the same path"))
    }

    func testBadValuesNameTheFlagAndTheAcceptedValues() {
        let mode = usageError(["--mode", "shared,bogus"])
        XCTAssertTrue(mode?.contains("--mode") == true && mode?.contains("exclusive|writethrough|shared|none") == true, mode ?? "")
        let size = usageError(["--block-size", "4Q"])
        XCTAssertTrue(size?.contains("--block-size") == true && size?.contains("K/M/G") == true, size ?? "")
        XCTAssertTrue(usageError(["--depth", "0"])?.contains("--depth") == true)
        XCTAssertTrue(usageError(["--duration", "fast"])?.contains("ns|us|ms|s") == true)
        XCTAssertTrue(usageError(["--server", "ftp:x"])?.contains("builtin|inproc|diod|native|unix:PATH|tcp:HOST:PORT") == true)
        XCTAssertTrue(usageError(["--suite", "huge"])?.contains("quick|ci|full") == true)
        XCTAssertTrue(usageError(["--scenario", "nope"])?.contains("stat") == true)
        XCTAssertTrue(usageError(["--format", "xml"])?.contains("json,csv,svg") == true)
        XCTAssertTrue(usageError(["--repetitions", "x"])?.contains("--repetitions") == true)
        XCTAssertTrue(usageError(["--blocks"])?.contains("needs a value") == true)
        XCTAssertTrue(usageError(["--ops", "5", "--duration", "1s"])?.contains("exclude") == true)
        XCTAssertTrue(usageError(["--frobnicate"])?.contains("unknown argument") == true)
        XCTAssertEqual(BenchCLI.main(["run", "--blocks", "zero"]), 64)
        XCTAssertEqual(BenchCLI.main(["nonsense"]), 64)
        XCTAssertEqual(BenchCLI.main(["check", "only-a-report"]), 64)
    }

    func testHelpNamesEveryRunFlagAndHidesServe() throws {
        let run = try XCTUnwrap(BenchCLI.help("run"))
        for flag in RunOptions.valueFlags.union(RunOptions.switches) where flag.hasPrefix("--") {
            XCTAssertTrue(run.contains(flag), "bench run --help lacks \(flag)")
        }
        XCTAssertTrue(run.contains("cross product"))
        let root = try XCTUnwrap(BenchCLI.help())
        for c in ["run", "list", "check", "compare", "plot"] { XCTAssertTrue(root.contains(c), c) }
        let lines = root.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertTrue(lines.contains { $0.hasPrefix("plot") }, root)
        XCTAssertFalse(lines.contains { $0.hasPrefix("serve") }, "serve is hidden: \(root)")
        XCTAssertTrue(try XCTUnwrap(BenchCLI.help("compare")).contains("markdown"))
        XCTAssertTrue(try XCTUnwrap(BenchCLI.help("serve")).contains("--control-fd"))
        XCTAssertNil(BenchCLI.help("nope"))
        XCTAssertEqual(BenchCLI.main(["run", "--help"]), 0)
        XCTAssertEqual(BenchCLI.main(["--help"]), 0)
        XCTAssertEqual(BenchCLI.main(["help", "run"]), 0)
        XCTAssertEqual(BenchCLI.main(["run", "--quiet=yes"]), 64)
        XCTAssertEqual(BenchCLI.main(["compare", "a.json"]), 64)
        XCTAssertEqual(BenchCLI.main(["plot", "a.json", "--out"]), 64)
        XCTAssertEqual(BenchCLI.main(["serve", "--root", "/tmp"]), 64, "serve needs --control-fd")
        XCTAssertEqual(BenchCLI.main(["run", "--mode", "shared", "--ops", "1", "--duration", "1s"]), 64)
    }

    func testListShowsEveryScenarioWithItsParameters() {
        let text = BenchCLI.listText()
        for s in ScenarioSpec.all {
            XCTAssertTrue(text.contains(s.name))
            for p in s.params { XCTAssertTrue(text.contains(p.flag), "\(s.name) \(p.flag)") }
        }
    }

    func testMannWhitney() {
        // Fully separated samples of 5: exact two-sided p = 2/252.
        XCTAssertEqual(Statistics.mannWhitneyP([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]), 2.0 / 252, accuracy: 1e-12)
        XCTAssertEqual(Statistics.mannWhitneyP([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]), 1, accuracy: 1e-9)
        XCTAssertGreaterThan(Statistics.mannWhitneyP([1, 3, 5, 7, 9], [2, 4, 6, 8, 10]), 0.05)
        XCTAssertEqual(Statistics.median([3, 1, 2]), 2)
        XCTAssertEqual(Statistics.median([4, 1, 2, 3]), 2.5)
    }

    func testSuitesSetTheirServerAndRepetitionsUnlessFlagsSayOtherwise() throws {
        XCTAssertEqual(try RunOptions.parse(["--suite", "ci-diod"]).server, .diod)
        XCTAssertEqual(try RunOptions.parse(["--server", "inproc", "--suite", "ci-diod"]).server, .inproc, "--server wins, given first")
        XCTAssertEqual(try RunOptions.parse(["--suite", "ci-diod", "--server", "inproc"]).server, .inproc, "or last")
        XCTAssertEqual(try RunOptions.parse(["--suite", "ci"]).server, .builtin)
        XCTAssertGreaterThanOrEqual(Suite.full.repetitions, 10, "compare needs 9 or more on each side to see small changes")
        XCTAssertEqual(Suite.all.map(\.name), ["quick", "ci", "full", "ci-diod"])
    }
}
