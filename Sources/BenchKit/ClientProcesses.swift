#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import Foundation
import Histogram
import HostSupport
import P9

/// `--clients N`: N client processes (`bench client`, hidden), each with its own connection and filesystem, against
/// the one server of a session. The parent makes the fixtures (as one process with N threads would), connects each
/// child to the server itself (the descriptor is inherited), starts their measurements together and adds up what
/// they measured.
///
/// Control socket protocol (one socketpair per child): the child sends `R` once its scenario is set up (or `E` and
/// then its outcome as JSON, and exits), waits for one byte from the parent, measures, sends its outcome as JSON and
/// exits; the parent reads each outcome to end of file.
struct ClientJob: Codable {
    var scenario: String
    var params: ParamSet
    /// The aname the measured connection attaches.
    var aname: String
    /// The aname the fixtures' connection attaches.
    var fixturesAname: String
    var uname: String?
    var uid: UInt32?
    var msize: Int
    /// `--spin` in microseconds (nil: none).
    var spinUs: Int?
    /// `--rpc-timeout` in nanoseconds (nil: none).
    var rpcTimeoutNs: Int64?
    var memNode: Int?
    var seed: UInt64
    var fixtures: Fixtures.Snapshot?
    /// Which client this is (0..<clients).
    var index: Int
    var repetitions: Int
    var warmup: Int
    var durationNs: UInt64
    var ops: Int?
}

/// What a client process measured (or why it could not).
struct ClientOutcome: Codable {
    var error: String?
    /// Whether `error` is a skip (the combination cannot run) rather than a failure.
    var skipped = false
    var repetitions = 0
    var ops = 0
    var bytes = 0
    var busyNs: UInt64 = 0
    /// Each repetition's ops, bytes and time inside ops.
    var perRepetition: [CallerTally] = []
    /// RPCs inside ops and in background steps by message type (raw value), and their wire bytes.
    var inOp: [UInt8: Int] = [:]
    var inOpBytes = 0
    var background: [UInt8: Int] = [:]
    var backgroundBytes = 0
    var backgroundNs: UInt64 = 0
    var copiedBytes = 0
    var latency: Histogram<UInt64>?
    var batch = 1
    var cpuUser = 0.0
    var cpuSys = 0.0
    var threads: [CallerTally] = []

    init(error: String? = nil, skipped: Bool = false) {
        self.error = error
        self.skipped = skipped
    }

    init(_ m: Measurement) {
        repetitions = m.repetitions
        ops = m.ops
        bytes = m.bytes
        busyNs = m.busyNs
        perRepetition = m.perRepetition
        inOp = Dictionary(uniqueKeysWithValues: m.inOp.byType.map { ($0.key.rawValue, $0.value) })
        inOpBytes = m.inOp.bytes
        background = Dictionary(uniqueKeysWithValues: m.background.byType.map { ($0.key.rawValue, $0.value) })
        backgroundBytes = m.background.bytes
        backgroundNs = m.backgroundNs
        copiedBytes = m.copiedBytes
        latency = m.latency
        batch = m.batch
        cpuUser = m.cpu.user
        cpuSys = m.cpu.sys
        threads = m.threads
    }
}

/// The child side: `bench client`.
public enum ClientCommand {
    /// Runs the job `jobJSON` on the connection `connection` (fixtures through `fixtureConnection`), reporting on
    /// `control`; returns the exit code.
    public static func run(connection: Int32, fixtureConnection: Int32, control: Int32, jobJSON: String) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        defer { Glibc.close(control) }
        guard let job = try? JSONDecoder().decode(ClientJob.self, from: Data(jobJSON.utf8)), let spec = ScenarioSpec.named(job.scenario) else {
            writeStderr("bench client: unreadable job\n")
            return 64
        }
        var instance: (any ScenarioInstance)?
        var env: ScenarioEnvironment?
        var fixtureStore: NinePFixtureStore?
        do {
            let options = ClientOptions(msize: job.msize, uname: job.uname, nUname: job.uid,
                                        rpcTimeout: job.rpcTimeoutNs.map { .nanoseconds($0) }, spin: job.spinUs.map { .microseconds($0) })
            let client = try Client(transport: StreamTransport(fd: connection), options: options)
            var fixtures: Fixtures?
            if let snapshot = job.fixtures {
                let fixtureClient = try Client(transport: StreamTransport(fd: fixtureConnection),
                                               options: ClientOptions(msize: Suite.defaultMsize, uname: job.uname, nUname: job.uid))
                let store = try NinePFixtureStore(client: fixtureClient, aname: job.fixturesAname, uname: job.uname, uid: job.uid)
                fixtureStore = store
                fixtures = Fixtures(snapshot, store: store, scratchTag: "c\(job.index)-")
            } else {
                Glibc.close(fixtureConnection)
            }
            // Each client draws its own random offsets.
            let e = ScenarioEnvironment(client: client, fixtures: fixtures, aname: job.aname, uname: job.uname, uid: job.uid,
                                        memNode: job.memNode, seed: job.seed &+ UInt64(job.index) << 32)
            env = e
            instance = try makeScenario(spec, job.params, e)
        } catch let BenchError.skip(reason) {
            send(control, "E", ClientOutcome(error: reason, skipped: true))
            return 0
        } catch {
            send(control, "E", ClientOutcome(error: "client \(job.index): \(error)"))
            return 0
        }
        defer {
            instance?.close()
            fixtureStore?.close()
        }
        guard writeAll(control, [UInt8(ascii: "R")]), readAll(control, limit: 1).count == 1 else { return 1 }
        var m = Measurement()
        let settings = MeasureSettings(repetitions: job.repetitions, warmup: job.warmup, durationNs: job.durationNs, ops: job.ops,
                                       trace: nil, label: spec.name)
        do {
            try measure(instance!, stats: env!.client.stats, copies: env!.copies, settings: settings, partial: &m)
            send(control, nil, ClientOutcome(m))
        } catch let BenchError.skip(reason) {
            send(control, nil, ClientOutcome(error: reason, skipped: true))
        } catch {
            var o = ClientOutcome(m)
            o.error = "client \(job.index): \(error)"
            send(control, nil, o)
        }
        return 0
    }

    /// Sends `mark` (if any) and then `outcome` as JSON on `control`.
    private static func send(_ control: Int32, _ mark: Character?, _ outcome: ClientOutcome) {
        var bytes: [UInt8] = mark.map { [UInt8(ascii: $0.unicodeScalars.first!)] } ?? []
        bytes += (try? JSONEncoder().encode(outcome)).map { Array($0) } ?? []
        _ = writeAll(control, bytes)
    }
}

/// Writes all of `bytes` to `fd`; false when the peer is gone.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return false }
        done += n
    }
    return true
}

/// Reads from `fd` until end of file, or until `limit` bytes arrived.
func readAll(_ fd: Int32, limit: Int = .max) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 << 10)
    while out.count < limit {
        let want = min(chunk.count, limit - out.count)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, want) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { break }
        out += chunk[..<n]
    }
    return out
}

extension BenchRunner {
    /// Measures `repetitions` repetitions of one combination with `clients` processes against `session`'s server; fills
    /// `m` with their sum (each repetition's ops/s and MiB/s the sum of the clients' own) and each client's figures.
    func measureClients(_ spec: ScenarioSpec, _ p: ParamSet, on session: ServerSession, msize: Int, repetitions: Int,
                        into m: inout Measurement) throws {
        let n = p.int(.clients)
        guard let host = session.host else { throw BenchError.skip("--clients needs a 9P server (the native floor has no connection)") }
        guard p[.linkDelay] == nil else { throw BenchError.skip("--clients connects each client directly: no --link-delay") }
        let o = options
        var transports: [StreamTransport] = []  // the children's connections: closing them (shutdown) ends the children's
        var children: [(process: ChildProcess, control: Int32)] = []
        var finished = false  // every child sent its outcome and is exiting on its own
        defer {
            for c in children {
                Glibc.close(c.control)
                c.process.stop(timeout: 5, signal: finished ? nil : SIGTERM)
            }
            for t in transports { t.close() }
        }
        for k in 0..<n {
            let job = ClientJob(scenario: spec.name, params: p, aname: session.measuredAname, fixturesAname: session.aname,
                                uname: o.uname, uid: o.uid, msize: msize,
                                spinUs: o.spin != nil ? o.values[.spin]?.first?.intValue : nil,
                                rpcTimeoutNs: o.values[.rpcTimeout]?.first?.textValue.flatMap(Units.parseDuration).map { Int64($0) },
                                memNode: o.memNode, seed: o.seed,
                                fixtures: session.fixtures?.snapshot(), index: k, repetitions: repetitions,
                                warmup: o.warmup(forRepetitions: repetitions), durationNs: o.durationNs ?? o.suite.durationNs,
                                ops: o.ops.map { $0 / n + (k < $0 % n ? 1 : 0) })
            let connection = try host.connect(), fixtureConnection = try host.connect()
            transports += [connection, fixtureConnection]
            let (ours, theirs) = try socketPair()
            defer { Glibc.close(theirs) }
            let json = String(decoding: try JSONEncoder().encode(job), as: UTF8.self)
            let argv = [serverExecutable, "client", "--connection-fd", String(connection.fd), "--fixture-fd", String(fixtureConnection.fd),
                        "--control-fd", String(theirs), "--job", json]
            do {
                children.append((try ChildProcess(argv, log: nil, keep: [connection.fd, fixtureConnection.fd, theirs]), ours))
            } catch {
                Glibc.close(ours)
                throw BenchError.server("\(error)")
            }
        }
        // Every client set up before any measures.
        var problems: [ClientOutcome] = []
        for c in children {
            let mark = readAll(c.control, limit: 1)
            if mark == [UInt8(ascii: "R")] { continue }
            let rest = readAll(c.control)
            problems.append((try? JSONDecoder().decode(ClientOutcome.self, from: Data(rest)))
                            ?? ClientOutcome(error: "a client process ended before it was ready"))
        }
        if let skip = problems.first(where: \.skipped), let reason = skip.error { throw BenchError.skip(reason) }
        if let failure = problems.first { throw BenchError.server(failure.error ?? "a client failed") }
        let server0: CPUSeconds? = if case let .process(pid) = session.serverCPU { CPUClock.process(pid) } else { nil }
        let process0 = CPUClock.process()
        for c in children { _ = writeAll(c.control, [UInt8(ascii: "G")]) }
        let outcomes = children.map { c in
            (try? JSONDecoder().decode(ClientOutcome.self, from: Data(readAll(c.control))))
                ?? ClientOutcome(error: "a client process ended without an outcome")
        }
        finished = true
        switch session.serverCPU {
        case let .process(pid): m.serverCPU = server0.flatMap { s0 in CPUClock.process(pid).map { $0 - s0 } }
        case .inproc: m.serverCPU = CPUClock.process() - process0  // this process only waited meanwhile
        case .none: m.serverCPU = nil
        }
        // Repetition i of every client ran at about the same time (they started together and repetitions last as long):
        // its throughput is the clients' ops over the slowest client's time inside ops.
        m.repetitions = outcomes.map(\.perRepetition.count).min() ?? 0
        for i in 0..<m.repetitions {
            let ops = outcomes.reduce(0) { $0 + $1.perRepetition[i].ops }, bytes = outcomes.reduce(0) { $0 + $1.perRepetition[i].bytes }
            let seconds = Double(max(outcomes.map { $0.perRepetition[i].ns }.max() ?? 1, 1)) / 1e9
            m.opsPerS.append(Double(ops) / seconds)
            m.mibPerS.append(Double(bytes) / seconds / 1_048_576)
        }
        for c in outcomes {
            m.ops += c.ops
            m.bytes += c.bytes
            m.busyNs = max(m.busyNs, c.busyNs)
            for (raw, count) in c.inOp { if let t = MessageType(rawValue: raw) { m.inOp.byType[t, default: 0] += count } }
            m.inOp.bytes += c.inOpBytes
            for (raw, count) in c.background { if let t = MessageType(rawValue: raw) { m.background.byType[t, default: 0] += count } }
            m.background.bytes += c.backgroundBytes
            m.backgroundNs += c.backgroundNs
            m.copiedBytes += c.copiedBytes
            if let l = c.latency { m.latency.add(l) }
            m.batch = max(m.batch, c.batch)
            m.cpu = m.cpu + CPUSeconds(user: c.cpuUser, sys: c.cpuSys)
            m.threads += c.threads
            m.clients.append(CallerTally(ops: c.ops, bytes: c.bytes, ns: c.busyNs))
        }
        m.clientCPU = m.cpu
        if let failure = outcomes.first(where: { $0.error != nil }), let e = failure.error {
            throw failure.skipped ? BenchError.skip(e) : BenchError.server(e)
        }
    }
}
