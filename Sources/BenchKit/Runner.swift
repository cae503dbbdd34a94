#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import Foundation
import HostSupport
import NUMA
import P9

/// What a finished `bench run` produced.
public struct RunOutcome: Sendable {
    /// The report, written or not.
    public var report: Report
    /// Report files written.
    public var paths: [String]
    /// 0 all ok/skipped, 3 a scenario failed, 1 otherwise (a server out of reach, interrupted, no report written).
    public var exitCode: Int32
    /// RPCs sent to make and remove the fixtures, by server (`server.label`) and message name: a connection of their
    /// own, never counted in the results.
    public var fixtureRPCs: [String: [String: Int]] = [:]
    /// Fids the measured connections still held when the run closed them, by server (`server.label`; 0 unless a
    /// scenario leaked one).
    public var fidsLeft: [String: Int] = [:]
}

/// Runs the scenarios of `RunOptions` against a server and writes the report.
public final class BenchRunner {
    /// What the run was asked to do.
    public let options: RunOptions
    /// The executable re-run as `bench serve` (this program by default; tests pass the built `bench`).
    public var serverExecutable = ServerHost.selfExecutable
    /// Test hook: kills the server after this many combinations were measured (a server dying mid-run; with rounds each
    /// round's measurement counts, so 2 of a 2-combination plan is the end of round 1).
    public var killServerAfterResults: Int?
    /// Test hook: suspends the server's process (SIGSTOP) after this many combinations were measured: a server that stops
    /// answering mid-run (with `--rpc-timeout` the calls then fail; without, they wait for ever).
    public var suspendServerAfterResults: Int?
    /// Test hook: sees each running server the bench started or located (its process, its threads' placement) once every
    /// result was recorded.
    public var inspectServer: ((ServerHost) -> Void)?
    /// Test hook: false keeps the measured connections at the aname, as for a server that refuses a path below its
    /// export (the scratch folder is then the first component of every path).
    public var attachAtScratchFolder = true
    /// Receives each line of the readable table (nothing with `--quiet`).
    public var print: (String) -> Void = { Swift.print($0); fflush(nil) }
    /// Receives the run's error messages (standard error by default; also with `--quiet`).
    public var printError: (String) -> Void = { writeStderr($0 + "\n") }

    /// A runner of `options`.
    public init(options: RunOptions) { self.options = options }

    /// Runs everything; always tries to write the report and clean up.
    ///
    /// Every server is reached (connect, version, attach) before anything is measured: one that cannot be started or
    /// reached ends the run at once with exit 1, a message naming it, and no report.
    public func run() -> RunOutcome {
        var sessions: [ServerSession] = []
        var outcome = run(&sessions)
        // After the report: the scratch folders go, then the servers the bench started.
        for s in sessions {
            for problem in s.close() { printError("bench: \(problem)") }
            if let rpcs = s.fixtureRPCs { outcome.fixtureRPCs[s.baseInfo.label] = rpcs }
            if let fids = s.fidsLeft { outcome.fidsLeft[s.baseInfo.label] = fids }
        }
        return outcome
    }

    /// The run itself; `sessions` gets every server as it is reached.
    ///
    /// The run measures in `rounds` rounds: each round measures every combination, in plan order, for its share of the
    /// repetitions (and takes its share of the limits' passes first), so that a combination's samples come from the
    /// whole run, not one window of it. A combination that fails or is skipped is not measured again. With one round
    /// each row is printed as it is measured; with more, the rows are printed after the last round, against the run's
    /// limits (sampled across the rounds).
    private func run(_ sessions: inout [ServerSession]) -> RunOutcome {
        let o = options
        let out = o.out ?? defaultOutputDirectory()
        var results: [ResultRecord] = []
        var trace: TraceWriter?
        var fatal: String?
        var limits = Limits.none
        var sampler: LimitsSampler?
        var limitsScratch: String?
        let progress = Progress(enabled: !o.quiet)
        let out0 = print
        let plan = RunPlan(options: o)
        let rounds = o.effectiveRounds
        var table = ResultTable(print: o.quiet ? { _ in } : { line in progress.around { out0(line) } },
                                paramsWidth: plan.paramsWidth, servers: o.servers)
        // The client threads (this one and the workers it starts) run on the client CPUs; restored afterwards.
        let allowed = Affinity.current()
        var placement = CPUPlacement(client: nil, server: nil, pinning: "none")
        var outcome = RunOutcome(report: Report(context: RunContext.collect(argv: o.argv, seed: o.seed), results: []), paths: [],
                                 exitCode: 1)
        defer {
            progress.finish()
            trace?.close()
            if placement.client != nil { Affinity.bind(to: allowed) }
            sampler?.close()
            if let limitsScratch { try? FileManager.default.removeItem(atPath: limitsScratch) }
        }
        if let asked = o.rounds, asked > rounds {
            printError("bench: --rounds \(asked) is more than the \(o.effectiveRepetitions) repetitions; measuring in \(rounds) rounds")
        }
        do {
            placement = try CPUPlacement.resolve(o, allowed: allowed)
            if let cpus = placement.client, !Affinity.bind(to: cpus) { throw AffinityError(cpus: cpus) }
        } catch {
            fatal = "\(error)"
        }
        do {
            for spec in o.servers {
                sessions.append(try ServerSession(spec: spec, options: o, executable: serverExecutable, serverCPUs: placement.server,
                                                  attachAtScratchFolder: attachAtScratchFolder))
            }
        } catch {
            progress.finish()
            printError("bench: \(error)")
            return outcome  // no report: nothing was measured
        }
        do {
            if fatal == nil {
                if let t = o.trace { trace = try TraceWriter(path: t) }
                for (i, session) in sessions.enumerated() {
                    session.prepare(plan.scenarios(of: i))
                    // One direct connection per msize, made before the limits: they need the msize each server grants.
                    try session.connect(msizes: Set(plan.scenarios(of: i).flatMap { $0.1.map(requestedMsize) }))
                }
                if o.limits {
                    let (limitsPlan, scratch) = self.limitsPlan(sessions, plan, placement, allowed: allowed)
                    limitsScratch = scratch
                    sampler = LimitsSampler(limitsPlan, rounds: rounds)
                    sampler?.sample(round: 0)
                }
                if !o.linkKeys.isEmpty { for s in sessions { s.measureRelayCost() } }
            }
        } catch {
            fatal = "\(error)"
        }
        var tableOpen = false
        /// The limits are complete (or as complete as an interrupted run gets): they judge the rows from here on.
        func openTable() {
            guard !tableOpen else { return }
            tableOpen = true
            if let sampler { limits = sampler.limits() }
            table.limits = limits
            if o.limits { table.printLimits() }
            if !o.linkKeys.isEmpty && !o.quiet {
                for s in sessions where s.spec != .native { progress.around { out0(relayCostLine(s.relayCost, on: o.servers.count > 1 ? s.name : nil)) } }
            }
            table.header()
        }
        var combinations = plan.steps.flatMap { step in
            step.items.map { Combination(ResultRecord(scenario: step.spec.name, params: $0.params, server: sessions[$0.server].baseInfo,
                                                      status: .ok)) }
        }
        /// Combination `c`'s row: judged, set against the native floor, recorded and printed.
        func finish(_ c: Int) {
            guard !combinations[c].finished else { return }
            combinations[c].finished = true
            var record = combinations[c].record
            if record.status == .ok {
                record.judge(against: limits)
                if combinations[c].rounds < rounds {
                    record.warnings.append("measured in \(combinations[c].rounds) of \(rounds) rounds (the run was interrupted): "
                                           + "\(record.repetitions) of \(o.effectiveRepetitions) repetitions")
                }
            }
            if let floor = VersusNative.floor(of: record, in: results) { record.vsNative = VersusNative.ratio(record, over: floor) }
            results.append(record)
            table.row(record)
        }
        var measured = 0  // combinations measured in some round (what the test hooks count)
        // One round prints each row as it is measured; with more, the rows wait for the run's limits.
        let streaming = rounds == 1
        rounds: for round in 0..<rounds {
            if round > 0 && fatal == nil { sampler?.sample(round: round) }
            if streaming { openTable() }
            let repetitions = Statistics.roundShare(o.effectiveRepetitions, round: round, rounds: rounds)
            var c = 0
            for (index, step) in plan.steps.enumerated() {
                if fatal == nil { sampler?.sampleTrips(steps: plan.steps.count) }
                progress.begin(rounds > 1 ? "round \(round + 1)/\(rounds) \(step.spec.name)" : step.spec.name, index: index + 1,
                               of: plan.steps.count, total: step.items.count)
                defer { progress.end() }
                for (serverIndex, p) in step.items {
                    if interruptRequested.load(ordering: .relaxed) { break rounds }
                    let session = sessions[serverIndex]
                    if combinations[c].record.status == .ok {
                        if let setup = fatal ?? session.setupError {
                            // Nothing of this server could run: the combination failed with the setup error.
                            combinations[c].record.status = .failed
                            combinations[c].record.error = setup
                        } else {
                            do {
                                try runOne(step.spec, p, on: session, trace: trace, repetitions: repetitions, into: &combinations[c])
                                combinations[c].rounds += 1
                            } catch let BenchError.skip(reason) {
                                combinations[c].record.status = .skipped
                                combinations[c].record.error = reason
                            } catch {
                                combinations[c].record.status = .failed
                                combinations[c].record.error = describe(error)
                            }
                        }
                        measured += 1
                    }
                    progress.step()
                    if streaming { finish(c) }
                    c += 1
                    if let k = killServerAfterResults, measured == k { session.host?.kill() }
                    if let k = suspendServerAfterResults, measured == k, session.host?.suspend() != true {
                        printError("bench: the server could not be suspended (it has no process of the bench's)")
                    }
                }
            }
        }
        // Several rounds, or an interrupted run: what every combination measured in the rounds done, in plan order.
        // Warnings discount the drift every result shared between rounds: it moves no ratio inside the run.
        let drift = Statistics.roundDrift(combinations.filter { $0.record.status == .ok }
            .map { ($0.measurement.opsPerS, $0.measurement.sampleRounds) }, rounds: rounds)
        if let drift {
            for c in combinations.indices where combinations[c].record.status == .ok {
                let m = combinations[c].measurement
                guard m.sampleRounds.count == m.opsPerS.count else { continue }
                combinations[c].record.warnings = Statistics.repetitionWarnings(
                    opsPerS: zip(m.opsPerS, m.sampleRounds).map { $0 / drift[$1] }, driftRemoved: true)
            }
        }
        openTable()
        if let drift, !o.quiet {
            progress.around { out0("rounds: the machine ran at " + drift.map { Units.fixed($0, 2) }.joined(separator: ", ")
                                   + " of each result's median (round 1 to \(rounds)); warnings discount this shared drift") }
        }
        for c in combinations.indices where combinations[c].rounds > 0 || combinations[c].record.status != .ok { finish(c) }
        VersusNative.apply(to: &results)
        if let inspectServer { for s in sessions { if let host = s.host { inspectServer(host) } } }
        let interrupted = interruptRequested.load(ordering: .relaxed)
        progress.finish()
        let report = Report(context: RunContext.collect(argv: o.argv, seed: o.seed, placement: placement.context(o), limits: limits,
                                                        exportFS: sessions.first?.exportFS, rounds: rounds, roundDrift: drift),
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
        outcome.report = report
        outcome.paths = paths
        outcome.exitCode = code
        return outcome
    }

    /// Measures a round's share (`repetitions`) of one combination on `session` into `c`: the native floor with syscalls,
    /// any other server through a filesystem on its measured connection of the combination's msize; a fresh scenario
    /// instance with its own warm-up (the round's share of the warm-up ops, and the warm-up time in full: its caches
    /// start cold).
    private func runOne(_ spec: ScenarioSpec, _ p: ParamSet, on session: ServerSession, trace: TraceWriter?, repetitions: Int,
                        into c: inout Combination) throws {
        if p.int(.clients) > 1 {
            guard session.nativeEnvironment == nil else { throw BenchError.skip("--clients needs a 9P server (the native floor has no connection)") }
            let msize = requestedMsize(p)
            let client = try session.client(msize: msize, params: p)
            c.record.server = session.info(client, p)
            // The fixtures the clients use, and whether the combination runs at all: one instance here, closed at once.
            let env = ScenarioEnvironment(client: client, fixtures: session.fixtures, aname: session.measuredAname, uname: options.uname,
                                          uid: options.uid, memNode: options.memNode, seed: options.seed)
            try makeScenario(spec, p, env).close()
            var m = Measurement()
            defer { c.add(m, movesBytes: spec.movesBytes) }  // what was measured, also before a failure
            try measureClients(spec, p, on: session, msize: msize, repetitions: repetitions, into: &m)
            return
        }
        let instance: any ScenarioInstance
        let stats: RPCStats
        let copies: PayloadCopies
        if let native = session.nativeEnvironment {
            instance = try makeNativeScenario(spec, p, native, command: options.command)
            stats = RPCStats()  // nothing native is an RPC: it stays at 0
            copies = PayloadCopies()
        } else {
            let msize = requestedMsize(p)
            let client = try session.client(msize: msize, params: p)
            c.record.server = session.info(client, p)
            let env = ScenarioEnvironment(client: client, fixtures: session.fixtures, aname: session.measuredAname, uname: options.uname,
                                          uid: options.uid, memNode: options.memNode, seed: options.seed, command: options.command)
            instance = try makeScenario(spec, p, env)
            stats = client.stats
            copies = env.copies
        }
        defer { instance.close() }
        var m = Measurement()
        var settings = MeasureSettings(repetitions: repetitions, warmup: options.warmup(forRepetitions: repetitions),
                                       durationNs: options.durationNs ?? options.suite.durationNs, ops: options.ops,
                                       trace: trace, label: spec.name + " " + p.description, serverCPU: session.serverCPU)
        settings.firstRepetition = c.measurement.repetitions
        defer { c.add(m, movesBytes: spec.movesBytes) }  // what was measured, also before a failure
        try measure(instance, stats: stats, copies: copies, settings: settings, partial: &m)
        if let w = instance as? any WorkloadReporting {
            c.fio += w.runner.fio
            c.workload = WorkloadCommand.summary(command: w.runner.command, fio: c.fio)
        }
    }

    private func describe(_ error: Error) -> String {
        if let e = error as? P9Error { return "\(e)" }
        return "\(error)"
    }

    /// The msize `p` asks for (the flag's or the bench default when the scenario has no msize parameter).
    func requestedMsize(_ p: ParamSet) -> Int {
        p[.msize]?.intValue ?? options.values[.msize]?.first?.intValue ?? Suite.defaultMsize
    }

    /// What the limits of this run are measured for: its placement and server model at the data sizes its ops use (each
    /// server's at the msize it granted; the native floor's at pread); pread reads the fixtures of a server whose files
    /// are on this machine (made for it when missing; a folder of its own otherwise, returned for removal after the run).
    private func limitsPlan(_ sessions: [ServerSession], _ plan: RunPlan, _ placement: CPUPlacement,
                            allowed: [Int]) -> (LimitsPlan, scratch: String?) {
        let o = options
        var needs: [VersusLimit.Need] = []
        var readSizes: [Int] = []
        for (i, session) in sessions.enumerated() {
            for (spec, combos) in plan.scenarios(of: i) where spec.movesBytes {
                for p in combos {
                    needs += VersusLimit.needs(p, msize: session.grantedMsize(requestedMsize(p)), native: session.spec == .native)
                    if spec.name == "seq-read" || spec.name == "rand-read" { readSizes.append(p.int(.fileSize)) }
                }
            }
        }
        var scratch: String?
        let local = sessions.lazy.compactMap(\.fixtures).first { $0.local != nil }
        let files = local ?? (try? temporaryDirectory(prefix: "bench-limits", in: exportParent().path)).flatMap { dir in
            scratch = dir
            return try? Fixtures(local: dir, prefix: "", seed: o.seed)
        }
        let reference = readSizes.max() ?? 8 << 20
        // The server model of the first server that is one: threads of this process for inproc, a process otherwise.
        let model: ServerModel = sessions.first { $0.spec != .native }?.spec == .inproc ? .thread : .process
        let limitsPlan = LimitsPlan(
            model: model, clientCPUs: placement.client, serverCPUs: placement.server,
            allowed: allowed, memNode: o.memNode,
            nodes: Placement(cpuNode: o.cpuNode, memNode: o.memNode, serverCPUNode: o.serverCPUNode), needs: needs,
            referenceFile: files.flatMap { f in (try? f.makeReadFile(size: reference)).flatMap { f.localReadPath(size: reference) } },
            preadFile: { fileBytes, unit in
                guard let files else { return nil }
                // open-read-close reads one unit at the start of the small file.
                guard let size = fileBytes else { return (try? files.makeSmallFile(size: unit)).flatMap { files.localSmallPath } }
                return (try? files.makeReadFile(size: size)).flatMap { files.localReadPath(size: size) }
            })
        return (limitsPlan, scratch)
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

/// One combination of a run over its rounds: its record so far and everything its rounds measured.
struct Combination {
    /// The result: identity, server, status and error, and the measured fields of every round so far.
    var record: ResultRecord
    /// The rounds' measurements merged.
    var measurement = Measurement()
    /// Rounds that measured it to the end.
    var rounds = 0
    /// fio's figures of the workload's runs over the rounds.
    var fio: [FioFigures] = []
    /// The workload's summary over the rounds (nil: not a workload).
    var workload: WorkloadResult?
    /// Whether its row was recorded.
    var finished = false

    init(_ record: ResultRecord) { self.record = record }

    /// Adds one round's measurement and refills the record's measured fields from the merge.
    mutating func add(_ m: Measurement, movesBytes: Bool) {
        var m = m
        m.sampleRounds = Array(repeating: rounds, count: m.opsPerS.count)  // `rounds` counts the rounds before this one
        measurement.merge(m)
        record.record(measurement, movesBytes: movesBytes)
        if let workload { record.workload = workload }
    }
}
