import ArgumentParser

/// The `bench` command tree (swift-argument-parser): run (default), list, check, compare, plot, serve (hidden).
///
/// Each subcommand's `execute` returns the exit code; `BenchCLI.main` parses, dispatches and maps parse errors to
/// 64 (usage) with the message on standard error.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measures the swift-gofer 9P client: RPCs per op, throughput and latency, against its limits.",
        discussion: """
            `bench` alone is `bench run` (the quick suite on the builtin server). Reports go to \
            results/<UTC stamp>/report.{json,csv,svg} (results/README.md describes them).
            Exit codes: 0 ok, 1 cannot run or judge, 2 a regression (check, compare --fail-on-slower), \
            3 a scenario failed (run; the report is still written), 64 a usage error.
            """,
        subcommands: [RunCommand.self, ListCommand.self, CheckCommand.self, CompareCommand.self, PlotCommand.self,
                      ServeSubcommand.self, ClientSubcommand.self],
        defaultSubcommand: RunCommand.self)
}

/// A subcommand that reports its exit code instead of throwing.
protocol ExecutableCommand: ParsableCommand {
    /// Runs the command; `argv` is the whole command line after the program name.
    func execute(argv: [String]) -> Int32
}

extension ExecutableCommand {
    func run() throws {
        let code = execute(argv: [])
        if code != 0 { throw ExitCode(code) }
    }
}

/// `bench run`: the flags are RunOptions' (one `apply` each), so both parsers accept exactly the same values.
struct RunCommand: ExecutableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Runs a suite or chosen scenarios and writes report.json, report.csv and report.svg.",
        discussion: """
            List flags take comma-separated values; the run is the cross product of the values of the parameters each \
            scenario uses (`bench list`), and a flag a scenario does not use is ignored for it. Sizes take K/M/G \
            (binary: 4K = 4096), durations ns/us/ms/s. Flags replace the suite's defaults for every scenario.
            """)

    @Option(help: ArgumentHelp("Suite of scenarios and defaults: quick (about a minute; 20 repetitions in 10 rounds), ci (what "
                               + "Benchmarks/thresholds.json gates on), ci-diod (CI's diod pass; runs against diod), full (10 repetitions in 10 rounds)."))
    var suite: String?
    @Option(help: ArgumentHelp("Scenarios to run, comma-separated (default: the suite's; see `bench list`).", valueName: "names"))
    var scenario: String?
    @Option(help: "Interop modes: exclusive,writethrough,shared,none or all.")
    var mode: String?
    @Option(help: "Path resolvers: vfs2 (fused Twalkgetattr), vfs1 (the revalidating baseline; shared and none only), multi (Tmultigetattr), direct (openat2 under a donated root; data scenarios get direct rows beside theirs).")
    var resolver: String?
    @Option(help: "Data paths: hostfd (pread/pwrite on a donated FD) or 9p (Tread/Twrite).")
    var path: String?
    @Option(help: "Blocks per I/O unit (a BlockSeq of that many blocks), e.g. 1,4,16.")
    var blocks: String?
    @Option(name: .customLong("block-size"), help: "Bytes per block, e.g. 4K,64K,1M.")
    var blockSize: String?
    @Option(help: "Multi-block 9P strategy: buffered (a temporary buffer + copy) or scatter (readv/writev).")
    var multiblock: String?
    @Option(name: .customLong("file-size"), help: "Size of the file sequential and random I/O work on, e.g. 64M.")
    var fileSize: String?
    @Option(help: "Components of the stat path, e.g. 3,20.")
    var depth: String?
    @Option(help: "Cache state before each stat/readdir op: cold (caches dropped), warm, replaced (stat: leaf replaced on the server).")
    var state: String?
    @Option(help: "Concurrent callers on one filesystem (null-rpc: one connection; stat, open-read-close, seq-/rand-read/write, create-unlink, mkdir-rmdir, readlink, rename), e.g. 1,2,4.")
    var threads: String?
    @Option(help: "With --threads > 1: private (each thread its own files) or shared (all threads on the same ones).")
    var sharing: String?
    @Option(help: "Client processes against one server, each with its own connection and filesystem (every scenario), e.g. 1,4.")
    var clients: String?
    @Option(help: "msize to request, bytes (default 1M+4K, so a 1 MiB op is one RPC).")
    var msize: String?
    @Option(help: "Files in the folder readdir lists (default 10000).")
    var entries: String?
    @Option(name: .customLong("link-delay"), help: "One-way link delays through a user-space relay (every scenario), e.g. 0,50us,200us,1ms.")
    var linkDelay: String?
    @Option(name: .customLong("link-jitter"), help: "Extra one-way delay up to this much per frame, uniform, never reordering (with --link-delay).")
    var linkJitter: String?
    @Option(help: ArgumentHelp("Before each blocking read, poll the socket for up to this long (client, and the builtin or inproc "
                               + "server; one value, e.g. 20us; 0 or absent: block at once). Results gain spin_us; the cpu fields show its cost.",
                               valueName: "duration"))
    var spin: String?
    @Option(name: .customLong("server-spin"), help: ArgumentHelp(
        "The builtin or inproc server's spin alone, overriding --spin there (e.g. 50us with no --spin: only the server "
            + "spins, on its own CPUs; 0: it blocks at once). Results gain server_spin_us.", valueName: "duration"))
    var serverSpin: String?
    @Option(name: .customLong("rpc-timeout"), help: ArgumentHelp(
        "Longest wait for one reply, e.g. 500ms, 5s (default: none): a call past it fails, its connection is closed, and "
            + "the results that needed it are failed (exit 3, the report is still written).", valueName: "duration"))
    var rpcTimeout: String?
    @Option(help: "How 9P calls travel (every 9P scenario): socket, or channel (shared-memory channels where the server grants them; server.transport says what ran), e.g. socket,channel.")
    var transport: String?
    @Option(help: "Measured repetitions per combination (throughput samples).")
    var repetitions: String?
    @Option(help: ArgumentHelp("Measure every combination in this many rounds, each a share of its repetitions with its own "
                               + "warm-up, so that its samples span the run (at most one per repetition). Default: 5 for the "
                               + "quick and full suites, 1 for ci, ci-diod and --scenario runs.", valueName: "n"))
    var rounds: String?
    @Option(help: "Unmeasured ops before the first repetition (of every round).")
    var warmup: String?
    @Option(help: "Length of one repetition, e.g. 2s, 500ms (excludes --ops).")
    var duration: String?
    @Option(help: "Ops per repetition (excludes --duration).")
    var ops: String?
    @Option(help: "Servers, comma-separated, one report: builtin (a child `bench serve`), inproc (threads of this process), diod, native (plain syscalls on a local folder: the floor), unix:PATH or tcp:HOST:PORT.")
    var server: String?
    @Option(help: "aname to attach (its 9P meaning only: the fixtures are made through the server, in a folder of their own).")
    var aname: String?
    @Option(help: "User name to attach as.")
    var uname: String?
    @Option(help: "Numeric uid to attach as.")
    var uid: String?
    @Option(help: ArgumentHelp("Folder for the report files (default results/<UTC stamp>).", valueName: "dir"))
    var out: String?
    @Option(help: "Report formats to write: json,csv,svg (the default), bmf (Bencher), gab (github-action-benchmark).")
    var format: String?
    @Flag(name: [.customLong("quiet"), .customShort("q")], help: "Print neither the table nor progress.")
    var quiet = false
    @Option(help: "Seed of fixture contents and random offsets.")
    var seed: String?
    @Option(help: ArgumentHelp("Write every RPC (time, tag, type, fid, bytes, op) as JSON lines to this file.", valueName: "file"))
    var trace: String?
    @Option(name: .customLong("cpu-node"), help: "Run the bench's client threads on this NUMA node's CPUs.")
    var cpuNode: String?
    @Option(name: .customLong("mem-node"), help: "Allocate I/O buffers on this NUMA node.")
    var memNode: String?
    @Option(name: .customLong("server-cpu-node"), help: "Run the server the bench starts (builtin, inproc, diod) on this NUMA node.")
    var serverCPUNode: String?
    @Option(name: .customLong("client-cpus"), help: ArgumentHelp(
        "Pin the bench's client threads to these CPUs (like taskset: 1, 0,2, 0-3), or any (unpinned). Default on 2+ CPUs: "
            + "one CPU, another than the server's.", valueName: "list"))
    var clientCPUs: String?
    @Option(name: .customLong("server-cpus"), help: ArgumentHelp(
        "Pin the server the bench starts (builtin child, inproc threads, diod) to these CPUs, or any. Default on 2+ CPUs: "
            + "one CPU, another than the client's.", valueName: "list"))
    var serverCPUs: String?
    @Option(help: ArgumentHelp("The workload scenario's shell command, run in the mount N times (--ops N), e.g. "
                               + "'fio --name=r --rw=read --bs=1M --size=64M --output-format=json'.", valueName: "command"))
    var command: String?
    @Flag(name: .customLong("no-limits"), help: "Skip measuring the machine's limits (socket round trip and stream, memcpy, pread).")
    var noLimits = false

    /// Every flag given, in RunOptions' terms.
    var given: [(String, String?)] {
        var out: [(String, String?)] = [
            ("--suite", suite), ("--scenario", scenario), ("--mode", mode), ("--resolver", resolver), ("--path", path),
            ("--blocks", blocks), ("--block-size", blockSize), ("--multiblock", multiblock), ("--file-size", fileSize),
            ("--depth", depth), ("--state", state), ("--threads", threads), ("--sharing", sharing), ("--msize", msize), ("--entries", entries),
            ("--link-delay", linkDelay), ("--link-jitter", linkJitter), ("--spin", spin), ("--server-spin", serverSpin),
            ("--rpc-timeout", rpcTimeout),
            ("--transport", transport),
            ("--clients", clients),
            ("--repetitions", repetitions), ("--rounds", rounds), ("--warmup", warmup), ("--duration", duration), ("--ops", ops),
            ("--server", server), ("--aname", aname), ("--uname", uname), ("--uid", uid), ("--out", out),
            ("--format", format), ("--seed", seed), ("--trace", trace), ("--cpu-node", cpuNode), ("--mem-node", memNode),
            ("--server-cpu-node", serverCPUNode), ("--client-cpus", clientCPUs), ("--server-cpus", serverCPUs),
            ("--command", command),
        ].filter { $0.1 != nil }
        if quiet { out.append(("--quiet", nil)) }
        if noLimits { out.append(("--no-limits", nil)) }
        return out
    }

    /// The options these flags ask for.
    func options() throws(UsageError) -> RunOptions {
        var o = RunOptions()
        for (flag, value) in given { try o.apply(flag, value) }
        try o.validate()
        return o
    }

    mutating func validate() throws {
        do { _ = try options() } catch { throw ValidationError(error.message) }
    }

    func execute(argv: [String]) -> Int32 {
        var o: RunOptions
        do { o = try options() } catch {
            writeStderr("bench run: \(error.message)\n")
            return 64
        }
        o.argv = ["bench"] + argv
        BenchCLI.installInterruptHandler()
        return BenchRunner(options: o).run().exitCode
    }
}

/// `bench list`.
struct ListCommand: ExecutableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Lists the scenarios: what one op is, the parameters each uses and their defaults.")

    func execute(argv: [String]) -> Int32 {
        print(BenchCLI.listText())
        return 0
    }
}

/// `bench check`.
struct CheckCommand: ExecutableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Judges a report against threshold rules (exit 0 ok, 2 regression, 1 cannot judge).",
        discussion: "Rules: RPC counts (exact or a maximum), ratios inside one run, and baseline rules (with --baseline). "
            + "results/README.md describes the rule file.")

    @Argument(help: ArgumentHelp("The report.json files to judge; rules select over all their results together.", valueName: "report"))
    var reports: [String]
    @Option(help: ArgumentHelp("The rule file, e.g. Benchmarks/thresholds.json.", valueName: "file"))
    var thresholds: String
    @Option(help: ArgumentHelp("A report to judge baseline rules against.", valueName: "report"))
    var baseline: String?
    @Flag(help: "Treat a rule that matches no result as an error.")
    var strict = false

    func validate() throws {
        if reports.isEmpty { throw ValidationError("give at least one report.json") }
    }

    func execute(argv: [String]) -> Int32 { BenchCLI.check(reports: reports, thresholds: thresholds, baseline: baseline, strict: strict) }
}

/// Output formats of `bench compare`.
enum CompareFormat: String, ExpressibleByArgument, CaseIterable {
    case text, markdown
}

/// `bench compare`.
struct CompareCommand: ExecutableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compares two reports: median ratios per matching result with a 95% interval; faster/slower needs a "
            + "Mann-Whitney U test (p < 0.05) and an interval wholly past --min-change, both over each run's round means "
            + "(the interval widened as much as neighbouring rounds moved together).")

    @Argument(help: ArgumentHelp("The older report.json, or several comma-separated (their repetitions pooled: runs made in "
                                 + "alternation with the newer side's, A B A B, share the machine's drift).", valueName: "old"))
    var old: String
    @Argument(help: ArgumentHelp("The newer report.json, or several comma-separated.", valueName: "new"))
    var new: String
    @Option(help: "text (an aligned table) or markdown (a table to paste into a review).")
    var format: CompareFormat = .text
    @Flag(name: .customLong("fail-on-slower"), help: "Exit 2 when any row is slower.")
    var failOnSlower = false
    @Option(name: .customLong("min-change"), help: ArgumentHelp(
        "Smallest change, in percent, that can be called faster or slower: the median change and the whole 95% interval "
        + "must pass it (smaller ones are same whatever p).",
        valueName: "pct"))
    var minChange: Double = 5

    func validate() throws {
        guard minChange >= 0, minChange.isFinite else { throw ValidationError("--min-change: a percentage >= 0, e.g. 5") }
    }

    func execute(argv: [String]) -> Int32 {
        BenchCLI.compare(old: old, new: new, markdown: format == .markdown, failOnSlower: failOnSlower, minChange: minChange / 100)
    }
}

/// `bench plot`.
struct PlotCommand: ExecutableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draws a report's bar charts (throughput and RPCs per op, grouped by mode) as SVG: what report.svg holds.")

    @Argument(help: ArgumentHelp("The report.json to plot.", valueName: "report"))
    var report: String
    @Option(help: ArgumentHelp("The SVG file to write.", valueName: "file.svg"))
    var out: String

    func execute(argv: [String]) -> Int32 { BenchCLI.plot(report: report, out: out) }
}

/// `bench serve` (hidden): the builtin server in a child process.
struct ServeSubcommand: ExecutableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "The builtin server (run by `bench` itself).", shouldDisplay: false)

    @Option(name: .customLong("control-fd"), help: "Unix socket to the parent; each byte on it carries a connection to serve.")
    var controlFD: Int32
    @Option(help: "The folder to export.")
    var root: String
    @Option(name: .customLong("spin-us"), help: "Poll each connection's socket this many microseconds before a blocking read.")
    var spinUs: Int = 0

    func execute(argv: [String]) -> Int32 {
        ServeCommand.serve(control: controlFD, root: root, spin: spinUs > 0 ? .microseconds(spinUs) : nil)
    }
}

/// `bench client` (hidden): one client process of `bench run --clients N`.
struct ClientSubcommand: ExecutableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client", abstract: "One client process of --clients (run by `bench` itself).", shouldDisplay: false)

    @Option(name: .customLong("connection-fd"), help: "The measured connection to the server.")
    var connectionFD: Int32
    @Option(name: .customLong("fixture-fd"), help: "A second connection, for the fixtures.")
    var fixtureFD: Int32
    @Option(name: .customLong("control-fd"), help: "Unix socket to the parent (ready, go, outcome).")
    var controlFD: Int32
    @Option(help: "What to run, as JSON.")
    var job: String

    func execute(argv: [String]) -> Int32 {
        ClientCommand.run(connection: connectionFD, fixtureConnection: fixtureFD, control: controlFD, jobJSON: job)
    }
}
