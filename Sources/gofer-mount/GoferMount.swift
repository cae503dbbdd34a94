import ArgumentParser
import Dispatch
import Glibc
import Gofer
import GoferFUSE
import LocalGofer
import P9
import SystemPackage

/// `gofer-mount`: the Gofer client filesystem mounted through FUSE, so any program can run on a 9P export.
@main
struct GoferMount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gofer-mount",
        abstract: "Mount a 9P2000.L export through the Gofer client filesystem, using FUSE (libfuse3).",
        discussion: """
            Every FUSE operation becomes a Gofer Filesystem operation; errors come back as the errno the \
            filesystem names. The kernel caches what the mode lets the client cache: entries and attributes \
            for an hour and file data across opens in exclusive and writethrough, nothing in shared and none \
            (none = shared with a handle per open and no client cache).

            It runs in the foreground until the mount goes away: SIGINT, SIGTERM or SIGHUP unmount it \
            (lazily when busy), as does `fusermount3 -u MOUNTPOINT`; open files are then written back and \
            closed, and gofer-mount exits 0.

            Examples:
              gofer-mount --server builtin --export /srv/data --mode exclusive /mnt/gofer
              gofer-mount --server unix:/run/gofer.sock --mode shared --resolver multi /mnt/gofer
              gofer-mount --server tcp:127.0.0.1:5640 --aname /srv/data --mode writethrough /mnt/gofer
            """)

    @Option(name: .long, help: ArgumentHelp(
        "builtin (serve --export in this process), unix:PATH or tcp:HOST:PORT (a running goferd or diod).",
        valueName: "SERVER"))
    var server: String

    @Option(name: .long, help: ArgumentHelp("The directory the builtin server exports.", valueName: "DIR"))
    var export: String?

    @Option(name: .long, help: ArgumentHelp("The aname to attach to (diod wants the exported path).", valueName: "PATH"))
    var aname: String = ""

    @Option(name: .long, help: ArgumentHelp("exclusive, writethrough, shared or none (what the client and kernel cache).",
                                            valueName: "MODE"))
    var mode: String

    @Option(name: .long, help: ArgumentHelp("vfs2 (one Twalkgetattr per component) or multi (one Tmultigetattr per path).",
                                            valueName: "RESOLVER"))
    var resolver: String = "vfs2"

    @Flag(name: .long, help: "Send every read and write over 9P even when the server donates host descriptors.")
    var noHostFds = false

    @Option(name: .long, help: ArgumentHelp(
        "Dentries the client caches before releasing the least recently used (default: the descriptor limit / 10 with the "
            + "builtin server, / 5 otherwise, at most 10000): each may hold a fid and an open handle.",
        valueName: "N"))
    var maxDentries: Int?

    @Argument(help: ArgumentHelp("An existing empty directory to mount on.", valueName: "MOUNTPOINT"))
    var mountpoint: String

    func validate() throws {
        guard Self.options(mode: mode, resolver: "vfs2", hostFDs: true) != nil else {
            throw ValidationError("--mode \(mode): expected exclusive, writethrough, shared or none")
        }
        guard (maxDentries ?? 16) >= 16 else { throw ValidationError("--max-dentries is at least 16") }
        guard resolver == "vfs2" || resolver == "multi" else { throw ValidationError("--resolver \(resolver): expected vfs2 or multi") }
        if server == "builtin" {
            guard let export else { throw ValidationError("--server builtin needs --export DIR") }
            guard Self.isDirectory(export) else { throw ValidationError("--export \(export) is not a directory") }
        } else {
            guard Address(server) != nil else { throw ValidationError("--server \(server): expected builtin, unix:PATH or tcp:HOST:PORT") }
            guard export == nil else { throw ValidationError("--export is for --server builtin only") }
        }
        guard Self.isDirectory(mountpoint) else { throw ValidationError("mount point \(mountpoint) is not a directory") }
    }

    func run() throws {
        // The stop signals are blocked before any thread exists; a dispatch source receives them instead.
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)

        var options = Self.options(mode: mode, resolver: resolver, hostFDs: !noHostFds)!
        // A dentry released and looked up again gets the server's attributes, which in exclusive/writethrough may
        // differ from those the kernel cached (ctime of a written-back file): keep as many as the kernel may hold.
        let descriptors = Self.raiseDescriptorLimit()
        // A cached file may hold a fid (the server's descriptor) and an open handle (the server's and a donated one,
        // and the server's for the handle's fid): with the builtin server in this process, four count against one limit,
        // and up to 1024 stale dentries wait for reclaim with theirs: a tenth of the limit (a fifth for another server).
        options.maxCachedDentries = maxDentries ?? max(16, min(10_000, descriptors / (server == "builtin" ? 10 : 5)))
        let builtin: Server?
        let transport: StreamTransport
        if server == "builtin" {
            let served = try Self.startBuiltin(export: export!)
            builtin = served.server
            transport = served.transport
        } else {
            builtin = nil
            transport = try Address(server)!.connect()
        }
        let client = try Client(transport: transport)
        let filesystem = try Filesystem(client: client, options: options, aname: aname)
        let mount = try FUSEMount(filesystem: filesystem, mountpoint: mountpoint)
        let watcher = UnmountOnSignal(mountpoint: mount.mountpoint)
        writeStderr("gofer-mount: \(server) mounted on \(mount.mountpoint) (mode \(mode), resolver \(resolver))\n")
        let result = mount.serve()
        watcher.cancel()
        filesystem.release()
        builtin?.stop()
        guard result == 0 else {
            writeStderr("gofer-mount: the FUSE session ended with \(Errno(rawValue: -result))\n")
            throw ExitCode(1)
        }
    }

    /// The filesystem options of a mode ("none" = cacheNone) and resolver name; nil for an unknown mode.
    static func options(mode: String, resolver: String, hostFDs: Bool) -> FilesystemOptions? {
        var o: FilesystemOptions
        if mode == "none" {
            o = .cacheNone
        } else if let m = InteropMode(rawValue: mode) {
            o = FilesystemOptions(mode: m)
        } else {
            return nil
        }
        o.resolver = ResolverKind(rawValue: resolver) ?? .vfs2
        o.hostFDs = hostFDs
        return o
    }

    /// A LocalGofer server on `export` in this process, and the client end of one connection to it.
    static func startBuiltin(export: String) throws -> (server: Server, transport: StreamTransport) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw Errno(rawValue: errno)
        }
        let server = Server(fileServer: try LocalGofer(root: export), options: ServerOptions(workers: 8))
        server.serve(fd: fds[1])
        return (server, StreamTransport(fd: fds[0]))
    }

    /// The builtin server holds a descriptor per fid: lift the soft RLIMIT_NOFILE to the hard limit.
    /// Returns the soft limit now.
    static func raiseDescriptorLimit() -> Int {
        var lim = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim) == 0 else { return 1024 }
        if lim.rlim_cur < lim.rlim_max {
            let raised = rlimit(rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max)
            var r = raised
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) == 0 { lim = raised }
        }
        return Int(min(lim.rlim_cur, UInt(Int.max)))
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }
}

/// Unmounts on SIGINT, SIGTERM or SIGHUP (blocked in every thread): `serve()` then returns and the data is written back.
final class UnmountOnSignal {
    private let sources: [any DispatchSourceSignal]

    init(mountpoint: String) {
        let queue = DispatchQueue(label: "gofer-mount.signals")
        sources = [SIGINT, SIGTERM, SIGHUP].map { DispatchSource.makeSignalSource(signal: $0, queue: queue) }
        for source in sources {
            source.setEventHandler {
                if !FUSEMount.unmount(mountpoint) {
                    writeStderr("gofer-mount: cannot unmount \(mountpoint): \(Errno(rawValue: errno))\n")
                }
            }
            source.resume()
        }
    }

    func cancel() { for s in sources { s.cancel() } }
}

func writeStderr(_ text: String) {
    var t = text
    t.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
