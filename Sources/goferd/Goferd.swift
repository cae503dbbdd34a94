import ArgumentParser
import Dispatch
import Glibc
import LocalGofer
import Logging
import P9

/// `goferd`: serves a host directory over 9P2000.L with gVisor's extensions (LocalGofer + P9.Server).
@main
struct Goferd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "goferd",
        abstract: "Serve a host directory over 9P2000.L (with gVisor's extensions up to 9P2000.L.Google.13).",
        discussion: """
            Every path stays inside --root: walks never follow symlinks and the names "", ".", ".." and \
            names containing "/" are refused (EINVAL). Over a Unix socket, regular files opened by a client \
            come with a host file descriptor (SCM_RIGHTS) unless --no-donate is given.

            9P has no authentication here: a TCP listener accepts only loopback peers unless --allow \
            widens it. SIGINT and SIGTERM stop the server and remove the Unix socket file.

            Examples:
              goferd --root /srv/data --listen unix:/run/gofer.sock
              goferd --root /srv/data --listen tcp:127.0.0.1:5640 --read-only
              goferd --root /srv/data --listen tcp:0.0.0.0:5640 --allow 10.0.0.0/8
            """)

    @Option(name: .long, help: ArgumentHelp("The directory to export.", valueName: "DIR"))
    var root: String

    @Option(name: .long, help: ArgumentHelp("Where to listen: unix:PATH or tcp:HOST:PORT (IPv6: tcp:[::1]:PORT). Repeatable.",
                                            valueName: "ADDRESS"))
    var listen: [String] = []

    @Option(name: .long, help: ArgumentHelp("Serve one already connected stream socket inherited as this descriptor, and exit when it closes.",
                                            valueName: "N"))
    var fd: Int32?

    @Option(name: .long, help: ArgumentHelp("Accept TCP peers in this network besides loopback (e.g. 10.0.0.0/8). Repeatable.",
                                            valueName: "CIDR"))
    var allow: [String] = []

    @Flag(name: .long, help: "Never send host file descriptors with Rlopen/Rlcreate/Rucreate.")
    var noDonate = false

    @Flag(name: .long, help: "Refuse every change to the export with EROFS.")
    var readOnly = false

    @Option(name: .long, help: ArgumentHelp("Highest extension version N to accept (0 = plain 9P2000.L only).", valueName: "N"))
    var maxVersion: UInt32 = P9Version.highest

    @Option(name: .long, help: ArgumentHelp("Largest msize granted, in bytes (suffixes K, M; at most 8M).", valueName: "BYTES"))
    var msize: String = "8M"

    @Option(name: .long, help: ArgumentHelp("Requests one connection may run at once (1: one at a time, in order).",
                                            valueName: "N"))
    var workers: Int = 8

    @Option(name: .long, help: ArgumentHelp(
        "Threads beyond one per connection, shared by all: one takes over reading a connection whose request runs long.",
        valueName: "N"))
    var extraThreads: Int = 64

    @Option(name: .long, help: ArgumentHelp(
        "Before blocking on a socket, poll it for up to this long (e.g. 20us; suffixes ns, us, ms, s). Default: off.",
        valueName: "DURATION"))
    var spin: String?

    @Option(name: .long, help: ArgumentHelp(
        "Shared-memory channels (Tchannel) one connection may open, each served by a thread of its own (0: refuse them).",
        valueName: "N"))
    var channels: Int = 4

    @Option(name: .long, help: ArgumentHelp(
        "How long a channel's thread spins for the next request before sleeping (suffixes ns, us, ms, s; 0 sleeps at once).",
        valueName: "DURATION"))
    var channelSpin: String = "100us"

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "LEVEL"))
    var logLevel: String = "info"

    func validate() throws {
        guard !listen.isEmpty || fd != nil else { throw ValidationError("give --listen ADDRESS (or --fd N)") }
        for a in listen where Address(a) == nil {
            throw ValidationError("--listen \(a): expected unix:PATH or tcp:HOST:PORT")
        }
        for c in allow where CIDR(c) == nil { throw ValidationError("--allow \(c): expected ADDRESS/BITS") }
        guard maxVersion <= P9Version.highest else { throw ValidationError("--max-version is at most \(P9Version.highest)") }
        guard let m = Self.parseBytes(msize), m >= ServerOptions.msizeFloor, m <= ServerOptions.msizeCeiling else {
            throw ValidationError("--msize \(msize): expected \(ServerOptions.msizeFloor)...8M bytes")
        }
        _ = m
        guard workers >= 1, workers <= 1024 else { throw ValidationError("--workers is 1...1024") }
        guard extraThreads >= 0, extraThreads <= 4096 else { throw ValidationError("--extra-threads is 0...4096") }
        if let spin, Self.parseDuration(spin) == nil {
            throw ValidationError("--spin \(spin): expected a duration such as 20us or 1ms")
        }
        guard channels >= 0, channels <= 64 else { throw ValidationError("--channels is 0...64") }
        guard channelSpin == "0" || Self.parseDuration(channelSpin) != nil else {
            throw ValidationError("--channel-spin \(channelSpin): expected a duration such as 100us")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a level") }
        var st = stat()
        guard stat(root, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { throw ValidationError("--root \(root) is not a directory") }
    }

    func run() throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "goferd")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        raiseDescriptorLimit(logger)

        // Block the stop signals before any thread exists; a dispatch source receives them instead.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)

        let gofer = try LocalGofer(root: root, options: LocalGoferOptions(readOnly: readOnly))
        let log = logger
        let options = ServerOptions(maxVersion: maxVersion, maxMsize: Self.parseBytes(msize)!, workers: workers,
                                    extraThreads: extraThreads, donateFDs: !noDonate, readOnly: readOnly,
                                    allow: allow.compactMap(CIDR.init), spin: spin.flatMap(Self.parseDuration),
                                    channels: channels, channelSpin: channelSpin == "0" ? nil : Self.parseDuration(channelSpin),
                                    log: { log.info("\($0)") })
        let server = Server(fileServer: gofer, options: options)
        let stopper = SignalStopper(server: server, logger: logger)
        for text in listen {
            let bound = try server.listen(Address(text)!)
            logger.notice("serving \(gofer.root) on \(bound)", metadata: [
                "read-only": "\(readOnly)", "donate": "\(!noDonate)", "max-version": "\(maxVersion)", "workers": "\(workers)",
                "spin": "\(spin ?? "off")", "channels": "\(channels)",
            ])
        }
        if let fd {
            server.serve(fd: fd)
            logger.notice("serving \(gofer.root) on inherited descriptor \(fd)")
            if listen.isEmpty {
                // Only the inherited connection: exit once it closes (or on a signal).
                while server.connectionCount > 0 && !stopper.stopped { usleep(50_000) }
                server.stop()
                logger.notice("connection closed; stopping")
                return
            }
        }
        server.run()
        logger.notice("stopped")
    }

    /// "65536", "64K", "1M" → bytes.
    static func parseBytes(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "k": 1 << 10, "M": 1 << 20, "m": 1 << 20]
        if let last = text.last, let unit = units[last] { return Int(text.dropLast()).map { $0 * unit } }
        return Int(text)
    }

    /// "20us", "1ms", "500ns", "2s" (a bare number is nanoseconds) → a Duration; nil when malformed or negative.
    static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let n = Int64(text.dropLast(suffix.count)), n >= 0 else { return nil }
            return .nanoseconds(n * scale)
        }
        return Int64(text).flatMap { $0 >= 0 ? .nanoseconds($0) : nil }
    }

    /// One descriptor per fid: lift the soft RLIMIT_NOFILE to the hard limit.
    private func raiseDescriptorLimit(_ logger: Logger) {
        var lim = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim) == 0, lim.rlim_cur < lim.rlim_max else { return }
        lim.rlim_cur = lim.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim) != 0 { logger.warning("cannot raise the descriptor limit") }
    }
}
