import BenchKit
import BenchReport
import Foundation
import HostSupport
import TestSupport
import XCTest

/// Issue 14: CPU placement that the server's threads and the limits follow, limits measured where the work runs,
/// vs_limit per RPC, and the write-back measured inside the repetitions.
final class PlacementLimitsTests: XCTestCase {
    /// The `bench` executable beside the test bundle (swift test builds it with the package).
    var benchExecutable: String {
        URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
            .deletingLastPathComponent().appendingPathComponent("bench").path
    }

    /// The CPUs this thread may use; skips when fewer than two (nothing to place apart) or no affinity support.
    func twoCPUs() throws -> [Int] {
        let allowed = Affinity.current()
        guard allowed.count >= 2 else { throw XCTSkip("placement needs two CPUs this process may use (has \(allowed))") }
        return allowed
    }

    func testByDefaultTheBuiltinServerAndTheLimitsEchoRunOnAnotherCPUThanTheClient() throws {
        let allowed = try twoCPUs()
        guard FileManager.default.isExecutableFile(atPath: benchExecutable) else {
            throw XCTSkip("the bench executable is not built beside the tests (\(benchExecutable)); run swift build first")
        }
        var serverThreads: [Int: [Int]] = [:]
        var runnerCPUs: [Int] = []
        let (outcome, out) = try benchRun(["--scenario", "null-rpc", "--threads", "1,2", "--ops", "20", "--repetitions", "2",
                                           "--warmup", "2"], limits: true) { runner in
            runner.serverExecutable = self.benchExecutable
            runner.inspectServer = { host in
                if let pid = host.processID { serverThreads = Affinity.threadCPUs(ofProcess: pid) }
                runnerCPUs = Affinity.current()
            }
        }
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let report = try readReport(out.appending("report.json"))
        let placement = report.context.placement
        XCTAssertEqual(placement.pinning, "default")
        let client = try XCTUnwrap(placement.clientCPUs), server = try XCTUnwrap(placement.serverCPUs)
        XCTAssertEqual(client, [allowed[0]])
        XCTAssertEqual(server, [allowed[1]])
        XCTAssertEqual(runnerCPUs, client, "the client thread ran pinned")
        // Every thread of the server child (its main thread, workers and connection readers) runs on the server CPU.
        XCTAssertGreaterThanOrEqual(serverThreads.count, 3, "\(serverThreads)")
        for (tid, cpus) in serverThreads { XCTAssertEqual(cpus, server, "server thread \(tid): Cpus_allowed_list") }
        // The limits ran where the run did: a child process on the server CPU, the measuring thread on the client's.
        let limits = report.context.limits
        XCTAssertEqual(limits.placement?.clientCPUs, client)
        XCTAssertEqual(limits.placement?.serverCPUs, server)
        XCTAssertEqual(limits.placement?.serverModel, "process")
        for (name, v) in [("socket_rtt_us", limits.socketRTTus), ("same cpu", limits.socketRTTSameCPUus),
                          ("cross cpu", limits.socketRTTCrossCPUus)] {
            XCTAssertGreaterThan(v ?? 0, 0, name)
        }
        XCTAssertEqual(Affinity.current(), allowed, "the run gives the calling thread its CPUs back")
        // CPU time apart: the client threads' and the server child's, for every result.
        for r in report.results {
            XCTAssertNotNil(r.cpu?.client, r.scenario)
            XCTAssertNotNil(r.cpu?.server, "the builtin child's CPU time is read from /proc")
        }
    }

    func testGivenCPUsPinTheInprocServerThreadsAndTheLimitsEchoThread() throws {
        let allowed = try twoCPUs()
        let (clientCPU, serverCPU) = (allowed[1], allowed[0])  // the default's mirror image
        var pinnedToServer = 0
        var runnerCPUs: [Int] = []
        let (outcome, out) = try benchRun(["--server", "inproc", "--client-cpus", String(clientCPU), "--server-cpus", String(serverCPU),
                                           "--scenario", "null-rpc", "--threads", "1", "--ops", "10", "--repetitions", "1",
                                           "--warmup", "1"], limits: true) { runner in
            runner.inspectServer = { _ in
                pinnedToServer = Affinity.threadCPUs(ofProcess: getpid()).values.filter { $0 == [serverCPU] }.count
                runnerCPUs = Affinity.current()
            }
        }
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let context = try readReport(out.appending("report.json")).context
        XCTAssertEqual(context.placement.pinning, "given")
        XCTAssertEqual(context.placement.clientCPUs, [clientCPU])
        XCTAssertEqual(context.placement.serverCPUs, [serverCPU])
        XCTAssertEqual(runnerCPUs, [clientCPU])
        XCTAssertGreaterThanOrEqual(pinnedToServer, 2, "the inproc server's worker and reader threads")
        XCTAssertEqual(context.limits.placement?.serverModel, "thread", "inproc's limits echo from a thread, as its server does")
        XCTAssertEqual(context.limits.placement?.clientCPUs, [clientCPU])
        XCTAssertEqual(context.limits.placement?.serverCPUs, [serverCPU])
    }

    func testDiodStartedByTheBenchRunsOnTheServerCPUs() throws {
        let allowed = try twoCPUs()
        guard Diod.isInstalled else { throw XCTSkip("diod is not installed at /usr/sbin/diod (run scripts/bootstrap)") }
        var threads: [Int: [Int]] = [:]
        let (outcome, out) = try benchRun(["--server", "diod", "--server-cpus", String(allowed[1]), "--scenario", "null-rpc",
                                           "--threads", "1", "--ops", "5", "--repetitions", "1", "--warmup", "1"]) { runner in
            runner.inspectServer = { host in if let pid = host.processID { threads = Affinity.threadCPUs(ofProcess: pid) } }
        }
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertFalse(threads.isEmpty)
        for (tid, cpus) in threads { XCTAssertEqual(cpus, [allowed[1]], "diod thread \(tid)") }
        let placement = try readReport(out.appending("report.json")).context.placement
        XCTAssertEqual(placement.serverCPUs, [allowed[1]])
        XCTAssertEqual(placement.clientCPUs, [allowed[0]], "the client defaults to another CPU than the given server's")
    }

    func testAnyLeavesBothUnpinnedAndBadListsAreUsageErrors() throws {
        let allowed = Affinity.current()
        let (outcome, out) = try benchRun(["--server", "inproc", "--client-cpus", "any", "--server-cpus", "any", "--scenario", "null-rpc",
                                           "--threads", "1", "--ops", "3", "--repetitions", "1", "--warmup", "0"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let json = try JSONValue(contentsOf: out.appending("report.json"))
        XCTAssertEqual(json.at(path: "context.placement.client_cpus"), .null)
        XCTAssertEqual(json.at(path: "context.placement.server_cpus"), .null)
        XCTAssertEqual(json.at(path: "context.placement.pinning"), .string("none"))
        XCTAssertEqual(Affinity.current(), allowed)

        XCTAssertEqual(CPUChoice("0-1,3"), .cpus([0, 1, 3]))
        XCTAssertEqual(CPUChoice("any"), .any)
        for bad in [["--client-cpus", "one"], ["--server-cpus", "3-1"], ["--client-cpus", ""], ["--client-cpus", "4096"],
                    ["--client-cpus", "0", "--cpu-node", "0"], ["--server-cpus", "0", "--server-cpu-node", "0"],
                    ["--server", "unix:/tmp/none.sock", "--server-cpus", "0"]] {
            XCTAssertEqual(BenchCLI.main(["run"] + bad), 64, "\(bad)")
        }
    }

    func testLimitsAreMeasuredAtTheSizesOfTheOpsAndVsLimitFollowsTheirFormula() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "null-rpc,seq-read,rand-read", "--threads", "1",
                                           "--mode", "exclusive,shared", "--path", "hostfd,9p", "--blocks", "1,4", "--block-size", "4K",
                                           "--multiblock", "buffered", "--file-size", "256K", "--ops", "30", "--repetitions", "2",
                                           "--warmup", "2"], limits: true)
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(try schemaViolations(out.appending("report.json")), [])
        let report = try readReport(out.appending("report.json"))
        let limits = report.context.limits
        // pread at each unit over the 256K file, the socket stream at each message size, memcpy over the file.
        for unit in [4096, 16384] {
            XCTAssertGreaterThan(limits.data(.pread, unit: unit, fileBytes: 256 << 10) ?? 0, 0, "pread \(unit)")
            XCTAssertGreaterThan(limits.data(.socketStream, unit: unit, fileBytes: nil) ?? 0, 0, "stream \(unit)")
            XCTAssertGreaterThan(limits.data(.memcpy, unit: unit, fileBytes: 256 << 10) ?? 0, 0, "memcpy \(unit)")
        }
        XCTAssertEqual(limits.data.count, 6, "one entry per kind and size, no more")
        let rtt = try XCTUnwrap(limits.socketRTTus)
        // An op of one RPC: rpcs_per_op x socket_rtt_us / p50, exactly.
        let null = try XCTUnwrap(results(report, "null-rpc").first)
        let p50 = Double(try XCTUnwrap(null.latency?.p50))
        XCTAssertEqual(null.vsLimitBasis, "rtt")
        XCTAssertEqual(try XCTUnwrap(null.vsLimit), 1 * rtt * 1000 / p50, accuracy: 1e-9)
        // A host-FD read (no RPC): its bytes at the pread rate for its unit and file.
        let host = try XCTUnwrap(results(report, "seq-read", [.mode: .text("shared"), .path: .text("hostfd"), .blocks: .int(4)]).first)
        XCTAssertEqual(host.rpcsPerOp, 0)
        XCTAssertEqual(host.vsLimitBasis, "pread")
        let pread = try XCTUnwrap(limits.data(.pread, unit: 16384, fileBytes: 256 << 10))
        XCTAssertEqual(try XCTUnwrap(host.vsLimit), 16384 / (pread * 1_073_741_824) * 1e9 / Double(try XCTUnwrap(host.latency?.p50)),
                       accuracy: 1e-9)
        // A 9P read in Shared: its RPCs at the round trip and its wire bytes at the stream rate.
        let nine = try XCTUnwrap(results(report, "rand-read", [.mode: .text("shared"), .path: .text("9p"), .blocks: .int(1)]).first)
        XCTAssertEqual(nine.vsLimitBasis, "rtt+stream")
        let stream = try XCTUnwrap(limits.data(.socketStream, unit: 4096, fileBytes: nil))
        let floor = try XCTUnwrap(nine.rpcsPerOp) * rtt * 1000 + (try XCTUnwrap(nine.wireBytesPerOp)) / (stream * 1_073_741_824) * 1e9
        XCTAssertEqual(try XCTUnwrap(nine.vsLimit), floor / Double(try XCTUnwrap(nine.latency?.p50)), accuracy: 1e-9)
        // Every ok result has one (each of these ops sends RPCs or moves bytes).
        XCTAssertTrue(report.results.filter { $0.status == .ok }.allSatisfy { $0.vsLimit != nil })
    }

    func testVsLimitAddsUpWhatTheOpDidAtItsLimits() {
        let limits = Limits(socketRTTus: 40, data: [DataLimit(kind: .pread, unitBytes: 65536, fileBytes: 8 << 20, gibS: 1),
                                                    DataLimit(kind: .socketStream, unitBytes: 65536, fileBytes: nil, gibS: 2),
                                                    DataLimit(kind: .memcpy, unitBytes: 65536, fileBytes: 8 << 20, gibS: 4)])
        func record(_ scenario: String, _ params: [(ParamKey, ParamValue)], rpcs: Double, p50: Int, wire: Double = 0, copied: Double = 0,
                    bytes: Int = 0) -> ResultRecord {
            var r = ResultRecord(scenario: scenario, params: ParamSet(params), server: ServerInfo(kind: "inproc", msize: 1 << 20,
                                                                                                 transport: "socketpair"), status: .ok)
            r.ops = 10
            r.bytes = bytes * 10
            r.rpcsPerOp = rpcs
            r.wireBytesPerOp = wire
            r.bytesCopiedPerOp = copied
            r.throughput = Throughput(opsPerS: Distribution(samples: [1]), mibPerS: bytes > 0 ? Distribution(samples: [1]) : nil)
            r.latency = Latency(p50: p50, p90: p50, p99: p50, p999: p50, max: p50, batch: 1)
            return r
        }
        // A stat of 41 RPCs, each at the round trip: 1.0 (the 0.02 came from leaving rpcs_per_op out).
        let deep = VersusLimit.compute(record("stat", [(.depth, .int(20))], rpcs: 41, p50: 41 * 40_000), limits)
        XCTAssertEqual(deep?.basis, "rtt")
        XCTAssertEqual(deep?.value ?? 0, 1, accuracy: 1e-12)
        XCTAssertEqual(VersusLimit.compute(record("stat", [(.depth, .int(20))], rpcs: 41, p50: 2 * 41 * 40_000), limits)?.value ?? 0,
                       0.5, accuracy: 1e-12)
        // A stat that sends no RPC (Exclusive, warm) has no limit: nothing it did has one.
        XCTAssertNil(VersusLimit.compute(record("stat", [(.depth, .int(3))], rpcs: 0, p50: 300), limits))
        let data: [(ParamKey, ParamValue)] = [(.blocks, .int(1)), (.blockSize, .int(65536)), (.fileSize, .int(8 << 20))]
        // A host-FD read of 64K at 1 GiB/s takes 61035.15625 ns.
        let host = VersusLimit.compute(record("seq-read", [(.path, .text("hostfd"))] + data, rpcs: 0, p50: 61035, bytes: 65536), limits)
        XCTAssertEqual(host?.basis, "pread")
        XCTAssertEqual(host?.value ?? 0, 61035.15625 / 61035, accuracy: 1e-12)
        // Served from the client's cache: the copy at memcpy over the file (4 GiB/s).
        let cached = VersusLimit.compute(record("seq-read", [(.path, .text("9p"))] + data, rpcs: 0, p50: 20_000, copied: 65536, bytes: 65536),
                                         limits)
        XCTAssertEqual(cached?.basis, "memcpy")
        XCTAssertEqual(cached?.value ?? 0, 15258.7890625 / 20_000, accuracy: 1e-12)
        // One Tread carrying 64K: the round trip plus the wire bytes at the stream rate for 64K messages.
        let wire = 65536.0 + 100
        let nine = VersusLimit.compute(record("seq-read", [(.path, .text("9p"))] + data, rpcs: 1, p50: 100_000, wire: wire, bytes: 65536),
                                       limits)
        XCTAssertEqual(nine?.basis, "rtt+stream")
        XCTAssertEqual(nine?.value ?? 0, (40_000 + wire / (2 * 1_073_741_824) * 1e9) / 100_000, accuracy: 1e-12)
        // A limit that was not measured (here: no socket stream at 4K) leaves vs_limit null rather than wrong.
        let small: [(ParamKey, ParamValue)] = [(.blocks, .int(1)), (.blockSize, .int(4096)), (.fileSize, .int(8 << 20))]
        XCTAssertNil(VersusLimit.compute(record("seq-read", [(.path, .text("9p"))] + small, rpcs: 1, p50: 50_000, wire: 4200, bytes: 4096),
                                         limits))
        XCTAssertNil(VersusLimit.compute(record("null-rpc", [(.threads, .int(1))], rpcs: 1, p50: 50_000), Limits.none))
        // A direct row has no path: its bytes go through the descriptor the client opened, judged against pread.
        let direct = VersusLimit.compute(record("seq-read", [(.resolver, .text("direct"))] + data, rpcs: 0, p50: 61035, bytes: 65536),
                                         limits)
        XCTAssertEqual(direct?.basis, "pread")
        XCTAssertEqual(direct?.value ?? 0, 61035.15625 / 61035, accuracy: 1e-12)
        // Over a link of 100 us each way with up to 20 us jitter, a round trip is the wire's plus 2 x 110 us.
        let delayed = VersusLimit.compute(record("null-rpc", [(.threads, .int(1)), (.linkDelay, .int(100)), (.linkJitter, .int(20))],
                                                 rpcs: 1, p50: 260_000), limits)
        XCTAssertEqual(delayed?.value ?? 0, 1, accuracy: 1e-12)
    }

    func testExclusiveAndWritethroughWritesCountTheirWriteBackExactly() throws {
        let trace = try TemporaryDirectory(prefix: "bench-trace")
        defer { trace.remove() }
        let file = trace.appending("trace.jsonl")
        // 2 warm-up writes (written back unmeasured), then 2 repetitions of 4 sequential 4K writes over 9P.
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "seq-write", "--mode", "exclusive,writethrough,shared",
                                           "--path", "9p", "--blocks", "1", "--block-size", "4K", "--multiblock", "buffered",
                                           "--file-size", "64K", "--ops", "4", "--repetitions", "2", "--warmup", "2", "--trace", file])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let report = try readReport(out.appending("report.json"))
        func one(_ mode: String) throws -> ResultRecord { try XCTUnwrap(results(report, "seq-write", [.mode: .text(mode)]).first) }
        // Exclusive: each repetition's 4 writes land in the page cache, and its closing fsync writes the 16K dirty run
        // back as one Twrite, then a Tfsync: 2 Twrites + 2 Tfsyncs over 8 ops, all inside the measurement.
        let exclusive = try one("exclusive")
        XCTAssertEqual(exclusive.ops, 8)
        XCTAssertEqual(exclusive.bytes, 8 * 4096)
        XCTAssertEqual(exclusive.rpcsByType, ["Twrite": 0.25, "Tfsync": 0.25])
        XCTAssertEqual(exclusive.rpcsPerOp, 0.5)
        XCTAssertEqual(exclusive.rpcsBackground, 0)
        // Writethrough: every write is a Twrite; each repetition adds one Tfsync.
        let writethrough = try one("writethrough")
        XCTAssertEqual(writethrough.rpcsByType, ["Twrite": 1, "Tfsync": 0.25])
        // Shared has no data cache: one Twrite per write, and no fsync was added.
        XCTAssertEqual(try one("shared").rpcsByType, ["Twrite": 1])
        // The trace shows the write-back inside the last op of each repetition: one Twrite of the 4 pages.
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(TraceLine.self, from: Data($0.utf8)) }
        let writeBacks = lines.filter { $0.run.hasPrefix("seq-write mode=exclusive") && $0.type == "Twrite" }
        XCTAssertEqual(writeBacks.map(\.op), [3, 3], "the last op of each repetition")
        XCTAssertTrue(writeBacks.allSatisfy { $0.bytesSent > 4 * 4096 }, "\(writeBacks.map(\.bytesSent))")
    }

    func testBackgroundStepsReportTheirTimePerOp() throws {
        let (outcome, out) = try benchRun(["--server", "inproc", "--scenario", "stat,create-unlink", "--mode", "exclusive",
                                           "--resolver", "vfs2", "--state", "warm,cold", "--depth", "3", "--ops", "5",
                                           "--repetitions", "1", "--warmup", "1"])
        defer { out.remove() }
        XCTAssertEqual(outcome.exitCode, 0)
        let report = try readReport(out.appending("report.json"))
        XCTAssertEqual(results(report, "stat", [.state: .text("warm")]).first?.backgroundNsPerOp, 0, "no background step")
        let cold = try XCTUnwrap(results(report, "stat", [.state: .text("cold")]).first)
        XCTAssertGreaterThan(cold.backgroundNsPerOp ?? 0, 0, "dropCaches() between ops")
        let create = try XCTUnwrap(results(report, "create-unlink").first)
        XCTAssertEqual(create.rpcsBackground, 2, "reclaim() clunks the stale dentry's fid and its handle's")
        XCTAssertGreaterThan(create.backgroundNsPerOp ?? 0, 0, "and its time is reported beside them")
    }
}
