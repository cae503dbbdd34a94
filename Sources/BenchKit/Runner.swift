#if canImport(Glibc)
import Glibc
#endif
import Foundation
import P9

/// What a finished `bench run` produced.
public struct RunOutcome: Sendable {
    public var report: Report
    /// Report files written.
    public var paths: [String]
    /// 0 all ok/skipped, 3 a scenario failed, 1 otherwise (interrupted, no report written).
    public var exitCode: Int32
}

/// Runs the scenarios of `RunOptions` against a server and writes the report.
public final class BenchRunner {
    public let options: RunOptions
    /// The executable re-run as `bench serve` (this program by default; tests pass the built `bench`).
    public var serverExecutable = ServerHost.selfExecutable
    /// Test hook: kills the server after this many results were recorded (a server dying mid-run).
    public var killServerAfterResults: Int?
    /// Receives each line of the readable table (nothing with `--quiet`).
    public var print: (String) -> Void = { Swift.print($0); fflush(nil) }

    public init(options: RunOptions) { self.options = options }

    /// Runs everything; always tries to write the report and clean up.
    public func run() -> RunOutcome {
        let o = options
        let out = o.out ?? defaultOutputDirectory()
        var results: [ResultRecord] = []
        var exportRoot: String?
        var fixtures: Fixtures?
        var host: ServerHost?
        var clients: [Int: Client] = [:]
        var trace: TraceWriter?
        var fatal: String?
        let table = ResultTable(print: o.quiet ? { _ in } : print,
                                paramsWidth: o.scenarioList.flatMap { o.combinations(of: $0) }.map(\.description.count).max() ?? 20)
        defer {
            for c in clients.values { c.close() }
            host?.stop()
            trace?.close()
            if let exportRoot { try? FileManager.default.removeItem(atPath: exportRoot) } else { fixtures?.remove() }
        }
        let specs = o.scenarioList
        let plan = specs.map { ($0, o.combinations(of: $0)) }
        do {
            if let t = o.trace { trace = try TraceWriter(path: t) }
            // The export and its fixtures.
            switch o.server {
            case .builtin, .inproc, .diod:
                let root = try makeTemporaryDirectory(prefix: "bench-export")
                exportRoot = root
                fixtures = try Fixtures(local: root, prefix: "", seed: o.seed)
            case .external:
                var isDir: ObjCBool = false
                if let a = o.aname, a.hasPrefix("/"), FileManager.default.fileExists(atPath: a, isDirectory: &isDir), isDir.boolValue {
                    let name = "bench-fixtures-\(getpid())"
                    fixtures = try Fixtures(local: a + "/" + name, prefix: "/" + name, seed: o.seed)
                }
            }
            if let f = fixtures { try makeFixtures(f, plan) }
            host = try ServerHost(spec: o.server, export: exportRoot, aname: o.aname, executable: serverExecutable)
        } catch {
            fatal = "\(error)"
        }
        if let fatal {
            // Nothing could run: every combination failed with the setup error.
            for (spec, combos) in plan {
                for p in combos {
                    results.append(ResultRecord(scenario: spec.name, params: p, server: baseServerInfo(host), status: .failed,
                                                error: fatal, measurement: nil, movesBytes: spec.movesBytes))
                }
            }
        } else if let host {
            let aname: String
            switch o.server {
            case .diod: aname = exportRoot!
            case .external: aname = o.aname ?? ""
            default: aname = ""
            }
            table.header()
            outer: for (spec, combos) in plan {
                for p in combos {
                    if interruptRequested.load(ordering: .relaxed) { break outer }
                    let msize = p[.msize]?.intValue ?? o.values[.msize]?.first?.intValue ?? Suite.defaultMsize
                    var record = ResultRecord(scenario: spec.name, params: p, server: baseServerInfo(host), status: .ok,
                                              error: nil, measurement: nil, movesBytes: spec.movesBytes)
                    do {
                        let client = try clients[msize] ?? {
                            let c = try Client(transport: try host.connect(),
                                               options: ClientOptions(msize: msize, uname: o.uname, nUname: o.uid))
                            clients[msize] = c
                            return c
                        }()
                        record.server = serverInfo(host, client)
                        let env = ScenarioEnvironment(client: client, fixtures: fixtures, aname: aname, uname: o.uname, uid: o.uid)
                        try runOne(spec, p, env, trace: trace, into: &record)
                    } catch let BenchError.skip(reason) {
                        record.status = .skipped
                        record.error = reason
                    } catch {
                        record.status = .failed
                        record.error = describe(error)
                    }
                    results.append(record)
                    table.row(record)
                    if let k = killServerAfterResults, results.count == k { host.kill() }
                }
            }
        }
        let interrupted = interruptRequested.load(ordering: .relaxed)
        let report = Report(context: RunContext.collect(argv: o.argv, seed: o.seed), results: results)
        var paths: [String] = []
        var code: Int32 = results.contains { $0.status == .failed } ? 3 : 0
        if interrupted { code = 1 }
        do {
            paths = try report.write(to: out, formats: o.formats)
        } catch {
            if !o.quiet { print("bench: \(error)") }
            code = 1
        }
        if !o.quiet {
            if let fatal { print("bench: \(fatal)") }
            if interrupted { print("bench: interrupted; the report holds what was measured") }
            for p in paths { print("report: \(p)") }
        }
        return RunOutcome(report: report, paths: paths, exitCode: code)
    }

    private func runOne(_ spec: ScenarioSpec, _ p: ParamSet, _ env: ScenarioEnvironment, trace: TraceWriter?,
                        into record: inout ResultRecord) throws {
        let instance = try makeScenario(spec, p, env)
        defer { instance.close() }
        var m = Measurement()
        let settings = MeasureSettings(repetitions: options.effectiveRepetitions, warmup: options.effectiveWarmup,
                                       durationNs: options.durationNs ?? options.suite.durationNs, ops: options.ops,
                                       trace: trace, label: spec.name + " " + p.description)
        do {
            try measure(instance, client: env.client, settings: settings, partial: &m)
            record.measurement = m
        } catch {
            record.measurement = m  // what was measured before the failure
            throw error
        }
    }

    private func describe(_ error: Error) -> String {
        if let e = error as? P9Error { return "\(e)" }
        return "\(error)"
    }

    private func baseServerInfo(_ host: ServerHost?) -> ServerInfo {
        let address: String?
        let transport: String
        switch options.server {
        case let .external(a): address = a.description; transport = a.transportName
        case .diod: address = host?.address; transport = "unix"
        default: address = nil; transport = "socketpair"
        }
        return ServerInfo(kind: options.server.kind, address: address, version: nil, extensions: [], msize: nil, transport: transport)
    }

    private func serverInfo(_ host: ServerHost, _ client: Client) -> ServerInfo {
        ServerInfo(kind: options.server.kind, address: host.address, version: client.versionString,
                   extensions: client.extensions.map(\.description), msize: client.msize, transport: host.transport)
    }

    private func makeFixtures(_ f: Fixtures, _ plan: [(ScenarioSpec, [ParamSet])]) throws {
        var depths = Set<Int>(), reads = Set<Int>(), writes = Set<Int>()
        var small = 0
        for (spec, combos) in plan {
            for p in combos {
                switch spec.name {
                case "stat": depths.insert(p.int(.depth))
                case "open-read-close": small = max(small, p.int(.blockSize))
                case "seq-read": reads.insert(p.int(.fileSize))
                case "seq-write": writes.insert(p.int(.fileSize))
                default: break
                }
            }
        }
        for d in depths { try f.makeStatChain(depth: d) }
        for s in reads { try f.makeReadFile(size: s) }
        for s in writes { try f.makeWriteFile(size: s) }
        if small > 0 { try f.makeSmallFile(size: small) }
    }

    private func defaultOutputDirectory() -> String {
        var t = time(nil)
        var tm = tm()
        gmtime_r(&t, &tm)
        let stamp = String(format: "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                           tm.tm_hour, tm.tm_min, tm.tm_sec)
        return "results/" + stamp
    }
}

/// The readable table printed while a run goes.
struct ResultTable {
    let print: (String) -> Void
    let paramsWidth: Int

    private var widths: [Int] { [16, max(6, paramsWidth), 7, 11, 9, 8, 9, 9] }

    private func line(_ cells: [String]) -> String {
        zip(cells, widths).enumerated().map { i, cw in
            let (c, w) = cw
            let pad = String(repeating: " ", count: max(0, w - c.count))
            return i < 3 ? c + pad : pad + c
        }.joined(separator: " ")
    }

    func header() {
        print(line(["scenario", "params", "status", "ops/s", "MiB/s", "rpcs/op", "p50", "p99"]))
    }

    func row(_ r: ResultRecord) {
        let j = r.json
        func num(_ path: String, _ digits: Int) -> String { j.at(path: path)?.number.map { Units.fixed($0, digits) } ?? "-" }
        func ns(_ path: String) -> String { j.at(path: path)?.number.map { Units.formatNanoseconds($0) } ?? "-" }
        print(line([r.scenario, r.params.description, r.status.rawValue, num("throughput.ops_per_s.median", 0),
                    num("throughput.mib_per_s.median", 1), num("rpcs_per_op", 2), ns("latency_ns.p50"), ns("latency_ns.p99")]))
        if r.status != .ok, let e = r.error { print("    \(r.status.rawValue): \(e)") }
    }
}
