import BenchKit
import BenchReport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NUMA
import P9
import TestSupport
import XCTest

/// NUMA placement, limits, the SVG plot, compare --format markdown and progress output.
final class PlacementPlotTests: XCTestCase {
    func testPlacementAndLimitsAreRecordedWhenNodesAreGiven() throws {
        guard NUMA.isAvailable, NUMA.nodes().contains(0) else { throw XCTSkip("NUMA is unavailable here (numa_available() < 0)") }
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "null-rpc,seq-read", "--cpu-node", "0",
                                           "--mem-node", "0", "--server-cpu-node", "0", "--threads", "1,2", "--mode", "shared",
                                           "--path", "hostfd", "--blocks", "1", "--block-size", "4K", "--file-size", "64K",
                                           "--multiblock", "buffered", "--ops", "4", "--repetitions", "1", "--warmup", "1"],
                                          limits: true)
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let context = try readReport(out.appending("report.json")).context
        XCTAssertEqual(context.placement.cpuNode, 0)
        XCTAssertEqual(context.placement.memNode, 0)
        XCTAssertEqual(context.placement.serverCPUNode, 0)
        XCTAssertEqual(context.numa.available, true)
        XCTAssertEqual(context.numa.nodes, NUMA.nodes().count)
        // The limits ran with the same placement and measured something.
        XCTAssertEqual(context.limits.placement?.nodes.cpuNode, 0)
        XCTAssertEqual(context.limits.placement?.nodes.memNode, 0)
        XCTAssertEqual(context.limits.placement?.nodes.serverCPUNode, 0)
        XCTAssertEqual(context.limits.placement?.clientCPUs, try NUMA.cpus(ofNode: 0))
        for (k, v) in [("socket_rtt_us", context.limits.socketRTTus), ("socket_stream_gib_s", context.limits.socketStreamGiBs),
                       ("memcpy_gib_s", context.limits.memcpyGiBs), ("pread_gib_s", context.limits.preadGiBs)] {
            XCTAssertGreaterThan(v ?? 0, 0, k)
        }
        XCTAssertTrue(try readReport(out.appending("report.json")).results.allSatisfy { $0.status == .ok })
    }

    func testUnboundRunRecordsNullPlacementAndNoLimitsWithNoLimits() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "null-rpc", "--threads", "1", "--ops", "2",
                                           "--repetitions", "1", "--warmup", "0"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        // Null, not left out: the JSON text itself.
        let report = try JSONValue(contentsOf: out.appending("report.json"))
        for k in ["cpu_node", "mem_node", "server_cpu_node"] { XCTAssertEqual(report.at(path: "context.placement." + k), .null, k) }
        for k in ["socket_rtt_us", "socket_stream_gib_s", "memcpy_gib_s", "pread_gib_s", "placement"] {
            XCTAssertEqual(report.at(path: "context.limits." + k), .null, k)
        }
    }

    func testANodeThatDoesNotExistIsAUsageErrorNamingTheNodes() {
        guard NUMA.isAvailable else {
            XCTAssertEqual(BenchCLI.main(["run", "--cpu-node", "0"]), 64, "no NUMA: any node is a usage error")
            return
        }
        let existing = NUMA.nodes().map(String.init).joined(separator: ", ")
        for flag in ["--cpu-node", "--mem-node", "--server-cpu-node"] {
            do {
                _ = try RunOptions.parse([flag, "97"])
                XCTFail("\(flag) 97 was accepted")
            } catch {
                XCTAssertTrue(error.message.contains(flag), error.message)
                XCTAssertTrue(error.message.contains("node 97 does not exist"), error.message)
                XCTAssertTrue(error.message.contains("available nodes: \(existing)"), error.message)
            }
            XCTAssertEqual(BenchCLI.main(["run", flag, "97"]), 64)
        }
        XCTAssertEqual(BenchCLI.main(["run", "--cpu-node", "zero"]), 64)
        XCTAssertEqual(BenchCLI.main(["run", "--server", "unix:/tmp/none.sock", "--server-cpu-node", "0"]), 64)
    }

    /// Counts `<rect class="bar">` elements per chart kind, failing on malformed XML.
    final class BarCounter: NSObject, XMLParserDelegate {
        var bars: [String: Int] = [:]
        var titles = 0
        var inBar = false
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if name == "rect", attributes["class"] == "bar" {
                bars[attributes["data-chart"] ?? "?", default: 0] += 1
                XCTAssertNotNil(Double(attributes["height"] ?? ""))
                inBar = true
            }
            if name == "title" && inBar { titles += 1 }
        }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "rect" { inBar = false }
        }
    }

    func parseSVG(_ path: String) throws -> BarCounter {
        let parser = try XCTUnwrap(XMLParser(contentsOf: URL(fileURLWithPath: path)))
        let counter = BarCounter()
        parser.delegate = counter
        XCTAssertTrue(parser.parse(), "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")")
        return counter
    }

    func testSVGIsWellFormedWithOneBarPerOkResult() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "stat,seq-read,null-rpc,readdir", "--mode", "exclusive,shared",
                                           "--resolver", "vfs2,vfs1", "--state", "warm", "--depth", "3", "--path", "hostfd,9p",
                                           "--blocks", "1", "--block-size", "4K,8K", "--file-size", "64K", "--multiblock", "buffered",
                                           "--threads", "1,2", "--entries", "10", "--ops", "3", "--repetitions", "1", "--warmup", "1"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let all = try readReport(out.appending("report.json")).results
        let ok = all.filter { $0.status == .ok }.count
        XCTAssertLessThan(ok, all.count, "vfs1 in exclusive is skipped and must not get a bar")
        let svg = try parseSVG(out.appending("report.svg"))
        XCTAssertEqual(svg.bars["throughput"], ok)
        XCTAssertEqual(svg.bars["rpcs"], ok)
        XCTAssertEqual(svg.titles, 2 * ok, "every bar has a tooltip naming its result")
        let text = try String(contentsOfFile: out.appending("report.svg"), encoding: .utf8)
        for label in ["seq-read: throughput (MiB/s", "stat: throughput (ops/s", "RPCs per op", "mode", "exclusive", "shared", "block_size"] {
            XCTAssertTrue(text.contains(label), label)
        }
        // bench plot draws the same charts from the JSON.
        let plotted = out.appending("plot.svg")
        XCTAssertEqual(BenchCLI.main(["plot", out.appending("report.json"), "--out", plotted]), 0)
        XCTAssertEqual(try parseSVG(plotted).bars, svg.bars)
        XCTAssertEqual(BenchCLI.main(["plot", out.appending("report.json")]), 64)
        XCTAssertEqual(BenchCLI.main(["plot", out.appending("missing.json"), "--out", plotted]), 1)
    }

    func testCompareFlagsADoctored2xSlowdownAndCallsACopySame() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "null-rpc,rand-read", "--threads", "1",
                                           "--mode", "shared", "--path", "hostfd", "--blocks", "1", "--block-size", "4K",
                                           "--file-size", "64K", "--multiblock", "buffered", "--ops", "20", "--repetitions", "5",
                                           "--warmup", "2"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let measured = try readReport(out.appending("report.json"))
        // Samples of 20-op repetitions vary more than 2x on a loaded machine: pin them within 2% of the median
        // so that the verdicts test compare's statistics, not the machine's mood.
        func pinned(_ d: Distribution) -> Distribution {
            var d = d
            if let median = d.median { d.samples = [1.0, 1.01, 0.99, 1.02, 0.98].map { median * $0 } }
            return d
        }
        let old = doctor(measured, where: { $0.status == .ok }) { r in
            guard var t = r.throughput else { return }
            t.opsPerS = pinned(t.opsPerS)
            t.mibPerS = t.mibPerS.map(pinned)
            r.throughput = t
        }
        // Twice as slow: every throughput sample and median halved.
        func halved(_ d: Distribution) -> Distribution {
            var d = d
            d.samples = d.samples.map { $0 / 2 }
            d.median = (d.median ?? 0) / 2
            return d
        }
        let slow = doctor(old, where: { $0.status == .ok }) { r in
            guard var t = r.throughput else { return }
            t.opsPerS = halved(t.opsPerS)
            t.mibPerS = t.mibPerS.map(halved)
            r.throughput = t
        }
        let rows = Compare.compare(old: old, new: slow)
        XCTAssertEqual(rows.count, 3, "null-rpc ops/s, rand-read ops/s and MiB/s")
        XCTAssertEqual(rows.map(\.verdict), ["slower", "slower", "slower"])
        XCTAssertTrue(rows.allSatisfy { abs($0.new / $0.old - 0.5) < 1e-9 && ($0.p ?? 1) < 0.05 })
        XCTAssertEqual(Compare.compare(old: old, new: old).map(\.verdict), ["same", "same", "same"])
        let md = Compare.renderMarkdown(rows)
        XCTAssertTrue(md.hasPrefix("| scenario | params | metric | old | new | delta | p | verdict |"), md)
        XCTAssertTrue(md.contains("-50.0%") && md.contains("**slower**"), md)
        XCTAssertEqual(md.split(separator: "\n").filter { $0.hasPrefix("|") }.count, 2 + rows.count)
        let dir = try TemporaryDirectory(prefix: "bench-compare2")
        defer { dir.remove() }
        let a = try write(old, dir, "old.json"), b = try write(slow, dir, "new.json")
        XCTAssertEqual(BenchCLI.main(["compare", a, b, "--format", "markdown"]), 0)
        XCTAssertEqual(BenchCLI.main(["compare", a, b, "--format=markdown", "--fail-on-slower"]), 2)
        XCTAssertEqual(BenchCLI.main(["compare", a, a, "--fail-on-slower"]), 0)
        XCTAssertEqual(BenchCLI.main(["compare", a, b, "--format", "html"]), 64)
    }

    func testProgressIsOneLinePerScenarioOffATerminalAndALiveLineOnOne() {
        let plain = Locked<[String]>([])
        let p = Progress(enabled: true, live: false) { text in plain.withLock { $0.append(text) } }
        p.begin("stat", index: 1, of: 2, total: 3)
        p.step(); p.step(); p.step()
        p.end()
        p.begin("seq-read", index: 2, of: 2, total: 1)
        p.step()
        p.end()
        p.finish()
        let lines = plain.withLock { $0 }
        XCTAssertEqual(lines.count, 2, "\(lines)")
        XCTAssertTrue(lines[0].hasPrefix("progress: [1/2] stat 3/3 in ") && lines[0].hasSuffix("\n"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("progress: [2/2] seq-read 1/1 in "), lines[1])

        let tty = Locked<[String]>([])
        let live = Progress(enabled: true, live: true) { text in tty.withLock { $0.append(text) } }
        live.begin("stat", index: 1, of: 1, total: 4)
        live.step()
        live.around { tty.withLock { $0.append("ROW\n") } }
        live.finish()
        let out = tty.withLock { $0 }
        XCTAssertTrue(out.contains { $0.hasPrefix("\r\u{1B}[K[1/1] stat: 1/4 done, elapsed ") && $0.contains("ETA") }, "\(out)")
        let row = out.firstIndex(of: "ROW\n")!
        XCTAssertEqual(out[row - 1], "\r\u{1B}[K", "the live line is cleared before a table row")
        XCTAssertTrue(out.allSatisfy { !$0.contains("\n") || $0 == "ROW\n" }, "the live line never scrolls")
        XCTAssertEqual(Progress.line(scenario: "x", index: 1, of: 1, done: 1, total: 4, elapsedNs: 1_000_000_000),
                       "[1/1] x: 1/4 done, elapsed 1.00s, ETA 3.00s")

        let quiet = Locked<[String]>([])
        let q = Progress(enabled: false, live: true) { text in quiet.withLock { $0.append(text) } }
        q.begin("stat", index: 1, of: 1, total: 1); q.step(); q.end(); q.finish()
        XCTAssertEqual(quiet.withLock { $0 }, [])
    }

    func testRepetitionWarningsOnlyWhenTheSpreadCouldChangeAConclusion() {
        XCTAssertEqual(Statistics.repetitionWarnings(opsPerS: [100, 101, 99, 100, 102]), [])
        // A z-score outlier that moves the median by 0.5% and keeps the range within 1.5x: no warning.
        XCTAssertEqual(Statistics.repetitionWarnings(opsPerS: [100, 101, 99, 100, 80]), [])
        // An outlier that moves the median from 110 to 120 ops/s (8.3%), in a range of 6.55x: both said, with how much.
        let outlier = Statistics.repetitionWarnings(opsPerS: [90, 110, 130, 131, 20])
        XCTAssertEqual(outlier.count, 2, "\(outlier)")
        XCTAssertTrue(outlier.contains { $0.hasPrefix("repetitions range 6.55x (20 to 131 ops/s)") }, "\(outlier)")
        XCTAssertTrue(outlier.contains { $0.hasPrefix("repetition 5 is an outlier") && $0.contains("the median moves 8.3% (110 -> 120 ops/s)") },
                      "\(outlier)")
        // A range above 1.5x without an outlier (the MAD is 0).
        XCTAssertEqual(Statistics.repetitionWarnings(opsPerS: [100, 160, 100, 100, 100]),
                       ["repetitions range 1.60x (100 to 160 ops/s); re-run on a quiet machine before drawing conclusions"])
        // A slow first repetition: the range says so; the outlier leaves the median where it is, so no second warning.
        let first = Statistics.repetitionWarnings(opsPerS: [40, 100, 101, 99, 100])
        XCTAssertEqual(first.count, 1, "\(first)")
        XCTAssertTrue(first[0].hasPrefix("repetitions range 2.53x (40 to 101 ops/s); the first was the slowest"), first[0])
        // Fewer than 5 repetitions: the range only.
        XCTAssertEqual(Statistics.repetitionWarnings(opsPerS: [100, 200]).count, 1)
        XCTAssertEqual(Statistics.repetitionWarnings(opsPerS: [100, 140]), [])
        XCTAssertEqual(Statistics.modifiedZScores([1, 1, 1]), [0, 0, 0])
    }

    func testTheMediansIntervalLeavesTheExtremesOutFromSixRepetitions() throws {
        // Binomial order statistics: 5 values have no 95% interval (their range covers 93.75%); 10 give x(2)..x(9)
        // (97.85%), 20 give x(6)..x(15) (95.86%).
        let five = try XCTUnwrap(Statistics.medianInterval([5, 1, 4, 2, 3]))
        XCTAssertEqual([five.low, five.high], [1, 5])
        XCTAssertEqual(five.coverage, 0.9375, accuracy: 1e-9)
        let ten = try XCTUnwrap(Statistics.medianInterval((1...10).reversed().map(Double.init)))
        XCTAssertEqual([ten.low, ten.high], [2, 9])
        XCTAssertEqual(ten.coverage, 1 - 22.0 / 1024, accuracy: 1e-9)
        let twenty = try XCTUnwrap(Statistics.medianInterval((1...20).map(Double.init)))
        XCTAssertEqual([twenty.low, twenty.high], [6, 15])
        XCTAssertEqual(twenty.coverage, 0.9586, accuracy: 1e-4)
        XCTAssertNil(Statistics.medianInterval([]))
        XCTAssertEqual(Statistics.medianInterval([7]).map { [$0.low, $0.high] }, [7, 7])

        // 20 repetitions, 4 of them in a 2x slower burst (a busy neighbour): the range is 2x, the median's interval is not.
        let burst = [Double](repeating: 100, count: 8) + [50, 50, 50, 50] + (0..<8).map { 101 + Double($0) }
        XCTAssertEqual(Statistics.repetitionWarnings(opsPerS: burst), [])
        // Half of them slow: the median itself is uncertain, and the warning names its interval.
        let half = (0..<10).flatMap { [100 + Double($0), 50 + Double($0)] }
        XCTAssertEqual(Statistics.repetitionWarnings(opsPerS: half),
                       ["the median's 95% interval spans 1.89x (55 to 104 ops/s); re-run on a quiet machine before drawing conclusions"])
    }
}
