#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import Foundation
import HostSupport
import P9

/// What a finished `bench run` produced.
public struct RunOutcome: Sendable {
    /// The report, written or not.
    public var report: Report
    /// Report files written.
    public var paths: [String]
    /// 0 all ok/skipped, 3 a scenario failed, 1 otherwise (interrupted, no report written).
    public var exitCode: Int32
}

/// Runs the scenarios of `RunOptions` against a server and writes the report.
public final class BenchRunner {
    /// What the run was asked to do.
    public let options: RunOptions
    /// The executable re-run as `bench serve` (this program by default; tests pass the built `bench`).
    public var serverExecutable = ServerHost.selfExecutable
    /// Test hook: kills the server after this many results were recorded (a server dying mid-run).
    public var killServerAfterResults: Int?
    /// Test hook: sees the running server (its process, its threads' placement) once every result was recorded.
    public var inspectServer: ((ServerHost) -> Void)?
    /// Receives each line of the readable table (nothing with `--quiet`).
    public var print: (String) -> Void = { Swift.print($0); fflush(nil) }

    /// A runner of `options`.
    public init(options: RunOptions) { self.options = options }

    /// Runs everything; always tries to write the report and clean up.
    public func run() -> RunOutcome {
        let o = options
        let out = o.out ?? defaultOutputDirectory()
        var results: [ResultRecord] = []
        var exportRoot: String?
        var fixtures: Fixtures?
        var host: ServerHost?
        let connections = Connections(seed: o.seed)
        var relayCost: Double?
        var trace: TraceWriter?
        var fatal: String?
        var limits = Limits.none
        let progress = Progress(enabled: !o.quiet)
        let out0 = print
        var table = ResultTable(print: o.quiet ? { _ in } : { line in progress.around { out0(line) } },
                                paramsWidth: o.scenarioList.flatMap { o.combinations(of: $0) }.map(\.description.count).max() ?? 20)
        // The client threads (this one and the workers it starts) run on the client CPUs; restored afterwards.
        let allowed = Affinity.current()
        var placement = CPUPlacement(client: nil, server: nil, pinning: "none")
        var exportFS: String?
        defer {
            progress.finish()
            connections.close()
            host?.stop()
            trace?.close()
            if let exportRoot { try? FileManager.default.removeItem(atPath: exportRoot) } else { fixtures?.remove() }
            if placement.client != nil { Affinity.bind(to: allowed) }
        }
        let specs = o.scenarioList
        let plan = specs.map { ($0, o.combinations(of: $0)) }
        do {
            placement = try CPUPlacement.resolve(o, allowed: allowed)
            if let cpus = placement.client, !Affinity.bind(to: cpus) { throw AffinityError(cpus: cpus) }
            if let t = o.trace { trace = try TraceWriter(path: t) }
            // The export and its fixtures.
            switch o.server {
            case .builtin, .inproc, .diod:
                let parent = exportParent()
                exportFS = parent.fsType
                let root = try temporaryDirectory(prefix: "bench-export", in: parent.path)
                exportRoot = root
                fixtures = try Fixtures(local: root, prefix: "", seed: o.seed)
            case .external:
                var isDir: ObjCBool = false
                if let a = o.aname, a.hasPrefix("/"), FileManager.default.fileExists(atPath: a, isDirectory: &isDir), isDir.boolValue {
                    let name = "bench-fixtures-\(getpid())"
                    fixtures = try Fixtures(local: a + "/" + name, prefix: "/" + name, seed: o.seed)
                    exportFS = fileSystemType(of: a)
                }
            }
            if let f = fixtures { try makeFixtures(f, plan) }
            host = try ServerHost(spec: o.server, export: exportRoot, aname: o.aname, executable: serverExecutable,
                                  cpus: placement.server)
            // One direct connection per msize, made before the limits: they need the msize the server grants.
            var granted: [Int: Int] = [:]
            for msize in Set(plan.flatMap { $0.1.map(requestedMsize) }) {
                granted[msize] = try connections.client(msize: msize, link: nil, host: host!,
                                                        options: ClientOptions(msize: msize, uname: o.uname, nUname: o.uid)).msize
            }
            if o.limits { limits = measureLimits(fixtures, plan, placement, granted, allowed: allowed) }
            if !o.linkKeys.isEmpty {
                relayCost = measureRelayCost(host!, aname: o.server == .diod ? exportRoot! : o.aname ?? "",
                                             options: ClientOptions(uname: o.uname, nUname: o.uid), seed: o.seed)
            }
        } catch {
            fatal = "\(error)"
        }
        if let fatal {
            // Nothing could run: every combination failed with the setup error.
            for (spec, combos) in plan {
                for p in combos {
                    results.append(ResultRecord(scenario: spec.name, params: p, server: baseServerInfo(host), status: .failed,
                                                error: fatal))
                }
            }
        } else if let host {
            let aname: String
            switch o.server {
            case .diod: aname = exportRoot!
            case .external: aname = o.aname ?? ""
            default: aname = ""
            }
            table.limits = limits
            if o.limits { table.printLimits() }
            if !o.linkKeys.isEmpty && !o.quiet { progress.around { out0(relayCostLine(relayCost)) } }
            table.header()
            outer: for (index, (spec, combos)) in plan.enumerated() {
                progress.begin(spec.name, index: index + 1, of: plan.count, total: combos.count)
                defer { progress.end() }
                for p in combos {
                    if interruptRequested.load(ordering: .relaxed) { break outer }
                    let msize = requestedMsize(p)
                    var record = ResultRecord(scenario: spec.name, params: p, server: baseServerInfo(host), status: .ok)
                    do {
                        let client = try connections.client(msize: msize, params: p, host: host,
                                                            options: ClientOptions(msize: msize, uname: o.uname, nUname: o.uid))
                        record.server = serverInfo(host, client)
                        if p[.linkDelay] != nil { record.server.relayCostUs = relayCost }
                        let env = ScenarioEnvironment(client: client, fixtures: fixtures, aname: aname, uname: o.uname, uid: o.uid,
                                                      memNode: o.memNode, seed: o.seed)
                        try runOne(spec, p, env, trace: trace, serverCPU: serverCPUSource(host), into: &record)
                        record.judge(against: limits)
                    } catch let BenchError.skip(reason) {
                        record.status = .skipped
                        record.error = reason
                    } catch {
                        record.status = .failed
                        record.error = describe(error)
                    }
                    results.append(record)
                    progress.step()
                    table.row(record)
                    if let k = killServerAfterResults, results.count == k { host.kill() }
                }
            }
        }
        if let host, let inspectServer { inspectServer(host) }
        let interrupted = interruptRequested.load(ordering: .relaxed)
        progress.finish()
        let report = Report(context: RunContext.collect(argv: o.argv, seed: o.seed, placement: placement.context(o), limits: limits,
                                                        exportFS: exportFS),
                            results: results)
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
                        serverCPU: ServerCPUSource, into record: inout ResultRecord) throws {
        let instance = try makeScenario(spec, p, env)
        defer { instance.close() }
        var m = Measurement()
        let settings = MeasureSettings(repetitions: options.effectiveRepetitions, warmup: options.effectiveWarmup,
                                       durationNs: options.durationNs ?? options.suite.durationNs, ops: options.ops,
                                       trace: trace, label: spec.name + " " + p.description, serverCPU: serverCPU)
        do {
            try measure(instance, client: env.client, copies: env.copies, settings: settings, partial: &m)
            record.record(m, movesBytes: spec.movesBytes)
        } catch {
            record.record(m, movesBytes: spec.movesBytes)  // what was measured before the failure
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
        var depths = Set<Int>(), reads = Set<Int>(), writes = Set<Int>(), directories = Set<Int>()
        var small = 0
        var link = false, sync = false
        for (spec, combos) in plan {
            for p in combos {
                switch spec.name {
                case "stat": depths.insert(p.int(.depth))
                case "open-read-close": small = max(small, p.int(.blockSize))
                case "seq-read", "rand-read": reads.insert(p.int(.fileSize))
                case "seq-write", "rand-write": writes.insert(p.int(.fileSize))
                case "readdir": directories.insert(p.int(.entries))
                case "readlink": link = true; small = max(small, 1)
                case "fsync": sync = true
                default: break
                }
            }
        }
        for d in depths { try f.makeStatChain(depth: d) }
        for s in reads { try f.makeReadFile(size: s) }
        for s in writes { try f.makeWriteFile(size: s) }
        for n in directories { try f.makeDirectory(entries: n) }
        if small > 0 { try f.makeSmallFile(size: small) }
        if link { try f.makeSymlink() }
        if sync { try f.makeSyncFile() }
    }

    /// The msize `p` asks for (the flag's or the bench default when the scenario has no msize parameter).
    private func requestedMsize(_ p: ParamSet) -> Int {
        p[.msize]?.intValue ?? options.values[.msize]?.first?.intValue ?? Suite.defaultMsize
    }

    /// Where the server's CPU time is read: its process, or this one for inproc.
    private func serverCPUSource(_ host: ServerHost) -> ServerCPUSource {
        switch options.server {
        case .inproc: return .inproc
        case .external: return .none
        case .builtin, .diod: return host.processID.map { .process($0) } ?? .none
        }
    }

    /// The limits of this run, measured with its placement and server model at the data sizes its ops use; pread reads
    /// the fixtures (made for it when missing; a scratch folder when the export is out of reach).
    private func measureLimits(_ fixtures: Fixtures?, _ plan: [(ScenarioSpec, [ParamSet])], _ placement: CPUPlacement,
                               _ granted: [Int: Int], allowed: [Int]) -> Limits {
        let o = options
        var needs: [VersusLimit.Need] = []
        var readSizes: [Int] = []
        for (spec, combos) in plan where spec.movesBytes {
            for p in combos {
                needs += VersusLimit.needs(p, msize: granted[requestedMsize(p)])
                if spec.name == "seq-read" || spec.name == "rand-read" { readSizes.append(p.int(.fileSize)) }
            }
        }
        var scratch: String?
        let files = fixtures ?? (try? temporaryDirectory(prefix: "bench-limits", in: exportParent().path)).flatMap { dir in
            scratch = dir
            return try? Fixtures(local: dir, prefix: "", seed: o.seed)
        }
        defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
        let reference = readSizes.max() ?? 8 << 20
        let plan = LimitsPlan(
            model: o.server == .inproc ? .thread : .process, clientCPUs: placement.client, serverCPUs: placement.server,
            allowed: allowed, memNode: o.memNode,
            nodes: Placement(cpuNode: o.cpuNode, memNode: o.memNode, serverCPUNode: o.serverCPUNode), needs: needs,
            referenceFile: files.flatMap { f in (try? f.makeReadFile(size: reference)).map { f.localReadPath(size: reference) } },
            preadFile: { fileBytes, unit in
                guard let files else { return nil }
                // open-read-close reads one unit at the start of the small file.
                guard let size = fileBytes else { return (try? files.makeSmallFile(size: unit)).map { files.localSmallPath } }
                return (try? files.makeReadFile(size: size)).map { files.localReadPath(size: size) }
            })
        return Limits.measure(plan)
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
