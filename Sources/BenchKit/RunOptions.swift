import BenchReport
import HostSupport
import NUMA
import P9

/// A command-line mistake: exit 64 with `message`.
public struct UsageError: Error, CustomStringConvertible, Equatable {
    /// What was wrong, naming the flag.
    public let message: String
    /// A usage error saying `message`.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Which server a run measures.
public enum ServerSpec: Equatable, Sendable, CustomStringConvertible {
    /// `bench serve` in a child process over a socketpair (the default).
    case builtin
    /// The same server as threads of the bench process.
    case inproc
    /// diod started by the bench on a Unix socket.
    case diod
    /// A server someone else runs.
    case external(Address)
    /// No server: each op as plain syscalls on a local scratch folder (the floor every 9P design pays on top of).
    case native

    /// Parses builtin|inproc|diod|native|unix:PATH|tcp:HOST:PORT.
    public init?(_ text: String) {
        switch text {
        case "builtin": self = .builtin
        case "inproc": self = .inproc
        case "diod": self = .diod
        case "native": self = .native
        default:
            guard text.hasPrefix("unix:") || text.hasPrefix("tcp:"), let a = Address(text) else { return nil }
            self = .external(a)
        }
    }

    /// The report's `server.kind`.
    public var kind: String {
        switch self {
        case .builtin: return "builtin"
        case .inproc: return "inproc"
        case .diod: return "diod"
        case .external: return "external"
        case .native: return "native"
        }
    }

    /// Whether the bench starts this server itself (and can place its threads).
    public var isStartedByBench: Bool {
        switch self {
        case .builtin, .inproc, .diod: return true
        case .external, .native: return false
        }
    }

    /// What `--server` accepts, for error messages and help.
    public static let accepted = "builtin|inproc|diod|native|unix:PATH|tcp:HOST:PORT"

    public var description: String {
        if case let .external(a) = self { return a.description }
        return kind
    }
}

/// Everything `bench run` was asked to do.
public struct RunOptions: Sendable {
    /// The suite whose scenarios and defaults apply.
    public var suite: Suite = .quick
    /// Scenarios to run (nil: the suite's).
    public var scenarios: [String]?
    /// Parameter values given on the command line (they replace the suite's for every scenario).
    public var values: [ParamKey: [ParamValue]] = [:]
    /// Measured repetitions per combination (nil: the suite's).
    public var repetitions: Int?
    /// Rounds the repetitions are spread over (nil: the suite's when its scenarios run, 1 with `--scenario`).
    public var rounds: Int?
    /// Unmeasured ops before the first repetition (nil: the suite's).
    public var warmup: Int?
    /// Length of one repetition in nanoseconds (exclusive with `ops`).
    public var durationNs: UInt64?
    /// Ops per repetition.
    public var ops: Int?
    /// The servers to measure, in the order given (`--server builtin,native`); one report compares them.
    public var servers: [ServerSpec] = [.builtin]
    /// The first server to measure; setting it measures that one only.
    public var server: ServerSpec {
        get { servers[0] }
        set { servers = [newValue] }
    }
    /// Whether `--server` was given (a suite's own server then does not replace it).
    private var serverGiven = false
    /// The aname to attach (an external server).
    public var aname: String?
    /// The user name to attach as.
    public var uname: String?
    /// The numeric uid to attach as.
    public var uid: UInt32?
    /// The folder for the report files (nil: results/<UTC stamp>).
    public var out: String?
    /// The report files to write.
    public var formats: [ReportFormat] = ReportFormat.defaults
    /// Print neither the table nor progress.
    public var quiet = false
    /// Seed of fixture contents and random offsets.
    public var seed: UInt64 = 1
    /// The shell command the workload scenario runs in the mount (nil: none given).
    public var command: String?
    /// The file every RPC is written to as JSON lines (nil: no trace).
    public var trace: String?
    /// NUMA node the bench's client threads run on (nil: unbound).
    public var cpuNode: Int?
    /// NUMA node I/O buffers are allocated on (nil: unbound).
    public var memNode: Int?
    /// NUMA node the embedded server (builtin child, inproc, diod) runs on (nil: unbound).
    public var serverCPUNode: Int?
    /// CPUs the bench's client threads run on (nil: the default placement).
    public var clientCPUs: CPUChoice?
    /// CPUs the server the bench starts runs on (nil: the default placement).
    public var serverCPUs: CPUChoice?
    /// Whether to measure the machine's limits before the scenarios (`--no-limits` turns it off).
    public var limits = true
    /// The command line, for the report's context.
    public var argv: [String] = []

    /// The defaults: the quick suite on the builtin server.
    public init() {}

    /// The scenarios to run, in declared order.
    public var scenarioList: [ScenarioSpec] {
        let names = scenarios ?? suite.scenarios
        return ScenarioSpec.all.filter { names.contains($0.name) }
    }

    /// The parameter combinations of `spec` (flags first, then the suite's defaults), and its direct rows when the
    /// resolvers asked for include `direct` and the scenario takes no resolver otherwise.
    public func combinations(of spec: ScenarioSpec) -> [ParamSet] {
        // The link, the spin, the deadline, the transport and the client processes apply to every scenario, and join its
        // params only when asked for.
        let keys = threadKeys(spec, spec.params) + linkKeys + spinKeys + timeoutKeys + transportKeys + clientKeys
        var v: [ParamKey: [ParamValue]] = [:]
        for k in keys { v[k] = values[k] ?? suite.values(k, for: spec.name) }
        let rows = ParamSet.crossProduct(keys, v)
        guard let direct = spec.directParams,
              (values[.resolver] ?? suite.values(.resolver, for: spec.name)).contains(.text("direct")) else { return rows }
        let directKeys = threadKeys(spec, direct) + linkKeys + spinKeys + timeoutKeys + transportKeys + clientKeys
        for k in directKeys { v[k] = k == .resolver ? [.text("direct")] : values[k] ?? suite.values(k, for: spec.name) }
        return rows + ParamSet.crossProduct(directKeys, v)
    }

    /// The client's deadline for one reply on every connection to the server (`--rpc-timeout`; nil: none).
    public var rpcTimeout: Duration? {
        values[.rpcTimeout]?.first?.textValue.flatMap(Units.parseDuration).map { .nanoseconds(Int64($0)) }
    }

    /// Repetitions per combination, flag or suite.
    public var effectiveRepetitions: Int { repetitions ?? suite.repetitions }
    /// Rounds, flag or suite (1 with `--scenario`), at most one per repetition.
    public var effectiveRounds: Int { min(rounds ?? (scenarios == nil ? suite.rounds : 1), effectiveRepetitions) }
    /// Warm-up ops, flag or suite.
    public var effectiveWarmup: Int { warmup ?? suite.warmup }

    /// The warm-up ops of a round that measures `repetitions` of the repetitions: its share of `effectiveWarmup`
    /// (rounded up, at least 1 when there is a warm-up); all of it in one round.
    public func warmup(forRepetitions repetitions: Int) -> Int {
        let all = effectiveWarmup, total = max(effectiveRepetitions, 1)
        return all == 0 ? 0 : max(1, (all * repetitions + total - 1) / total)
    }

    /// `rpc_timeout` when `--rpc-timeout` was given.
    var timeoutKeys: [ParamKey] { values[.rpcTimeout] != nil ? [.rpcTimeout] : [] }

    /// Parses a NUMA node number and checks that the node exists (the error names the nodes that do).
    static func node(_ flag: String, _ text: String) throws(UsageError) -> Int {
        guard let n = Int(text), n >= 0 else { throw UsageError("\(flag): \"\(text)\" is not a NUMA node number") }
        do { try NUMA.validate(node: n) } catch {
            throw UsageError("\(flag): \(error)" + (error == .unavailable ? "" : " (see numactl --hardware)"))
        }
        return n
    }

    /// `bench run` flags that take no value.
    public static let switches: Set<String> = ["--quiet", "-q", "--no-limits"]

    /// `bench run` flags that take a value.
    public static let valueFlags: Set<String> = Set(ParamKey.allCases.map(\.flag)).union([
        "--suite", "--scenario", "--repetitions", "--rounds", "--warmup", "--ops", "--duration", "--server", "--aname", "--uname", "--uid",
        "--out", "--format", "--seed", "--trace", "--cpu-node", "--mem-node", "--server-cpu-node", "--client-cpus", "--server-cpus",
        "--command",
    ])

    /// Parses `bench run` arguments (without the program name and subcommand).
    public static func parse(_ args: [String]) throws(UsageError) -> RunOptions {
        var o = RunOptions()
        var i = 0
        while i < args.count {
            var arg = args[i]
            var inline: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                inline = String(arg[arg.index(after: eq)...])
                arg = String(arg[..<eq])
            }
            if switches.contains(arg) {
                guard inline == nil else { throw UsageError("\(arg) takes no value") }
                try o.apply(arg, nil)
            } else {
                guard valueFlags.contains(arg) else { throw UsageError("unknown argument \"\(args[i])\" for bench run (see bench help)") }
                var text = inline
                if text == nil {
                    i += 1
                    guard i < args.count else { throw UsageError("\(arg) needs a value") }
                    text = args[i]
                }
                try o.apply(arg, text)
            }
            i += 1
        }
        try o.validate()
        return o
    }

    /// Checks what single flags cannot: --ops with --duration, --link-jitter without --link-delay, a server placement
    /// with an external server, a node and a CPU list for the same side.
    public func validate() throws(UsageError) {
        if ops != nil && durationNs != nil { throw UsageError("--ops and --duration exclude each other; give one") }
        if values[.linkJitter] != nil && values[.linkDelay] == nil {
            throw UsageError("--link-jitter needs --link-delay (the delay it varies; 0 for jitter alone)")
        }
        for key in [ParamKey.spin, .serverSpin] where (values[key]?.count ?? 0) > 1 {
            throw UsageError("\(key.flag) takes one duration: the server the bench starts spins the same for every result")
        }
        if serverCPUNode != nil, let other = servers.first(where: { !$0.isStartedByBench && $0 != .native }) {
            throw UsageError("--server-cpu-node binds only a server the bench starts (builtin, inproc, diod), not \(other)")
        }
        if case .cpus = serverCPUs, let other = servers.first(where: { !$0.isStartedByBench && $0 != .native }) {
            throw UsageError("--server-cpus pins only a server the bench starts (builtin, inproc, diod), not \(other)")
        }
        if clientCPUs != nil && cpuNode != nil { throw UsageError("--client-cpus and --cpu-node exclude each other; give one") }
        if serverCPUs != nil && serverCPUNode != nil {
            throw UsageError("--server-cpus and --server-cpu-node exclude each other; give one")
        }
    }

    /// Applies one `bench run` flag (`value` nil for the switches); the error names the flag and what it accepts.
    public mutating func apply(_ flag: String, _ value: String?) throws(UsageError) {
        func text() throws(UsageError) -> String {
            guard let value else { throw UsageError("\(flag) needs a value") }
            return value
        }
        func list(_ text: String) -> [String] { text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        func positive(_ text: String, allowZero: Bool = false) throws(UsageError) -> Int {
            guard let n = Int(text), n > 0 || (allowZero && n == 0) else {
                throw UsageError("\(flag): \"\(text)\" is not a \(allowZero ? "non-negative" : "positive") integer")
            }
            return n
        }
        if let key = ParamKey.allCases.first(where: { $0.flag == flag }) {
            if key == .rpcTimeout {  // a deadline for the whole run, not a list to cross
                let t = try text()
                guard let v = key.parse(t) else {
                    throw UsageError("\(flag): \"\(t)\" is not accepted; expected \(key.accepted)")
                }
                values[key] = [v]
                return
            }
            var parsed: [ParamValue] = []
            for item in list(try text()) {
                if key == .mode && item == "all" { parsed += key.choices!.map { .text($0) }; continue }
                guard let v = key.parse(item) else {
                    throw UsageError("\(flag): \"\(item)\" is not accepted; expected \(key.accepted)")
                }
                if !parsed.contains(v) { parsed.append(v) }
            }
            values[key] = parsed
            return
        }
        switch flag {
        case "--suite":
            let s = try text()
            guard let named = Suite.named(s) else {
                throw UsageError("--suite: \"\(s)\" is not accepted; expected \(Suite.all.map(\.name).joined(separator: "|"))")
            }
            suite = named
            if let server = named.server, !serverGiven { self.server = server }
        case "--scenario":
            let names = list(try text())
            for n in names where ScenarioSpec.named(n) == nil {
                throw UsageError("--scenario: \"\(n)\" is not accepted; expected \(ScenarioSpec.all.map(\.name).joined(separator: "|"))")
            }
            scenarios = names
        case "--repetitions": repetitions = try positive(try text())
        case "--rounds":
            let t = try text()
            guard let n = Int(t), n > 0 else {
                throw UsageError("--rounds: \"\(t)\" is not accepted; expected a positive number of rounds (1: every repetition of a "
                                 + "combination back to back)")
            }
            rounds = n
        case "--warmup": warmup = try positive(try text(), allowZero: true)
        case "--ops": ops = try positive(try text())
        case "--duration":
            let t = try text()
            guard let ns = Units.parseDuration(t) else {
                throw UsageError("--duration: \"\(t)\" is not accepted; expected a positive duration with ns|us|ms|s, e.g. 2s, 500ms")
            }
            durationNs = ns
        case "--server":
            var parsed: [ServerSpec] = []
            for item in list(try text()) {
                guard let s = ServerSpec(item) else {
                    throw UsageError("--server: \"\(item)\" is not accepted; expected \(ServerSpec.accepted), comma-separated")
                }
                if !parsed.contains(s) { parsed.append(s) }
            }
            servers = parsed
            serverGiven = true
        case "--aname": aname = try text()
        case "--uname":
            let u = try text()
            guard !u.isEmpty else { throw UsageError("--uname: the name must not be empty") }
            uname = u
        case "--uid":
            let t = try text()
            guard let u = UInt32(t) else { throw UsageError("--uid: \"\(t)\" is not accepted; expected a numeric uid") }
            uid = u
        case "--out": out = try text()
        case "--format":
            var f: [ReportFormat] = []
            for item in list(try text()) {
                guard let r = ReportFormat(rawValue: item) else {
                    throw UsageError("--format: \"\(item)\" is not accepted; expected \(ReportFormat.allCases.map(\.rawValue).joined(separator: ","))")
                }
                if !f.contains(r) { f.append(r) }
            }
            formats = f
        case "--quiet", "-q": quiet = true
        case "--seed":
            let t = try text()
            guard let s = UInt64(t) else { throw UsageError("--seed: \"\(t)\" is not accepted; expected a non-negative integer") }
            seed = s
        case "--trace": trace = try text()
        case "--command":
            let c = try text()
            guard !c.isEmpty else { throw UsageError("--command: the command must not be empty") }
            command = c
        case "--cpu-node": cpuNode = try Self.node(flag, try text())
        case "--mem-node": memNode = try Self.node(flag, try text())
        case "--server-cpu-node": serverCPUNode = try Self.node(flag, try text())
        case "--client-cpus", "--server-cpus":
            let t = try text()
            guard let choice = CPUChoice(t) else {
                throw UsageError("\(flag): \"\(t)\" is not accepted; expected a CPU list like 1, 0,2 or 0-3, or any (unpinned)")
            }
            if case let .cpus(cpus) = choice {
                let allowed = Affinity.current()
                for c in cpus where !allowed.isEmpty && !allowed.contains(c) {
                    throw UsageError("\(flag): CPU \(c) is not one this process may run on (\(Affinity.format(allowed)))")
                }
            }
            if flag == "--client-cpus" { clientCPUs = choice } else { serverCPUs = choice }
        case "--no-limits": limits = false
        default:
            throw UsageError("unknown argument \"\(flag)\" for bench run (see bench help)")
        }
    }
}
