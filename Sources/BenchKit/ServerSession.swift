#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import Foundation
import P9
import SystemPackage

/// One server of a run and everything the bench made for it: the server it started (if any), the fixtures' own
/// connection and scratch folder, the measured connections (one per msize), and the temporary folder it made.
///
/// Every server kind gets its fixtures the same way: a scratch folder `/bench-<pid>-<hex>` made through 9P on a second,
/// uncached connection (the native floor: with syscalls in a local temporary folder). The bench writes nothing outside
/// that folder and removes it at the end, after a failure or an interrupt too; `--aname` is only the 9P aname.
/// Used by the runner's thread only.
final class ServerSession {
    /// Which server.
    let spec: ServerSpec
    /// The server the bench started or located (nil for native).
    private(set) var host: ServerHost?
    /// The aname the fixtures' connection attaches (diod's: the export path).
    let aname: String
    /// The aname the measured connections attach: the scratch folder's when the server takes a path below its export
    /// (so that the fixtures' paths and depths are those of an export that holds only them), else `aname`.
    private(set) var measuredAname: String
    /// The address or kind, as messages name the server.
    private(set) var name: String
    /// The scratch folder and its files (nil until `prepare` made them).
    private(set) var fixtures: Fixtures?
    /// Why the fixtures could not be made: every result of this server then fails with it.
    private(set) var setupError: String?
    private let options: RunOptions
    /// A folder the bench made: the export of a server it starts, or the native floor's folder; removed at the end.
    private var ownFolder: String?
    private var store: (any FixtureStore)?
    /// The measured connections: one per msize and link delay.
    private var connections: Connections
    /// What the link relay adds to a null RPC at delay 0 on this server, µs (measured when the run asks for a link).
    private(set) var relayCost: Double?
    private var nativeRoot: Int32 = -1
    /// Whether the measured connections may attach at the scratch folder (a test turns it off).
    private let attachAtScratchFolder: Bool
    /// The type of the file system the bench's own folder is on ("tmpfs"; nil for an external server).
    private(set) var exportFS: String?
    /// The msize each requested msize was granted on a direct connection (`connect(msizes:)`).
    private var granted: [Int: Int] = [:]
    /// RPCs of the fixtures' connection by message name, read when it closes (nil for native).
    private(set) var fixtureRPCs: [String: Int]?
    /// Fids the measured connections still held when they closed (nil before `close`).
    private(set) var fidsLeft: Int?

    /// How long an external server gets to answer connect, Tversion and Tattach.
    static let reachDeadline = 1.5

    /// Starts (or locates) the server of `spec` and reaches it (connect, version, attach) on the fixtures' connection;
    /// throws `BenchError.unreachable` naming the address and the cause, or the server's start error.
    /// `serverCPUs` pins a server the bench starts (nil: unpinned).
    init(spec: ServerSpec, options: RunOptions, executable: String, serverCPUs: [Int]? = nil,
         attachAtScratchFolder: Bool = true) throws {
        self.spec = spec
        self.attachAtScratchFolder = attachAtScratchFolder
        self.options = options
        name = spec.description
        connections = Connections(seed: options.seed)
        // In /dev/shm when it is a tmpfs (exportParent), the native floor's folder beside the servers' exports.
        let parent = exportParent()
        let folder = spec.isStartedByBench || spec == .native
            ? try temporaryDirectory(prefix: spec == .native ? "bench-native" : "bench-export", in: parent.path) : nil
        ownFolder = folder
        if folder != nil { exportFS = parent.fsType }
        switch spec {
        case .diod: aname = folder!  // diod's aname is the exported path
        case .external: aname = options.aname ?? ""
        case .builtin, .inproc, .native: aname = ""
        }
        measuredAname = aname
        do {
            if spec == .native {
                nativeRoot = open(folder!, openPathOnly | O_DIRECTORY | O_CLOEXEC)
                guard nativeRoot >= 0 else { throw BenchError.fixture("open \(folder!): \(String(cString: strerror(errno)))") }
                store = LocalFixtureStore(root: folder!)
                return
            }
            let host = try ServerHost(spec: spec, export: folder, aname: options.aname, executable: executable, cpus: serverCPUs,
                                      spin: options.serverSpin)
            self.host = host
            name = host.address ?? name
            store = try Self.reach(host, name: name, aname: aname, options: options,
                                   deadline: spec.isStartedByBench ? nil : Self.reachDeadline)
        } catch {
            close()
            throw error
        }
    }

    /// connect + Tversion + Tattach on a new connection, within `deadline` seconds when given.
    private static func reach(_ host: ServerHost, name: String, aname: String, options: RunOptions,
                              deadline: Double?) throws -> NinePFixtureStore {
        let attempt = { @Sendable () throws -> NinePFixtureStore in
            let transport: StreamTransport
            do { transport = try host.connect() } catch let e as Errno { throw BenchError.unreachable(name, "connect: \(e)") } catch {
                throw BenchError.unreachable(name, "connect: \(error)")
            }
            let client: Client
            do { client = try Client(transport: transport, options: ClientOptions(msize: Suite.defaultMsize, uname: options.uname,
                                                                                   nUname: options.uid, rpcTimeout: options.rpcTimeout)) } catch {
                throw BenchError.unreachable(name, "version: \(error)")
            }
            do { return try NinePFixtureStore(client: client, aname: aname, uname: options.uname, uid: options.uid) } catch {
                throw BenchError.unreachable(name, "attach \"\(aname)\": \(error)")
            }
        }
        guard let deadline else { return try attempt() }
        // On a thread of its own, so that a server that accepts and never answers cannot hold the run.
        let outcome = Locked<(result: Result<NinePFixtureStore, any Error>?, abandoned: Bool)>((nil, false))
        let done = DispatchSemaphore(value: 0)
        Thread {
            let r = Result { try attempt() }
            let keep = outcome.withLock { o -> Bool in
                if o.abandoned { return false }
                o.result = r
                return true
            }
            if !keep, case let .success(store) = r { store.close() }
            done.signal()
        }.start()
        _ = done.wait(timeout: .now() + deadline)
        let result = outcome.withLock { o -> Result<NinePFixtureStore, any Error>? in
            if o.result == nil { o.abandoned = true }
            return o.result
        }
        guard let result else {
            throw BenchError.unreachable(name, "no answer to connect, Tversion and Tattach within \(Units.fixed(deadline, 1)) s")
        }
        return try result.get()
    }

    /// Makes the scratch folder and the fixtures `plan` needs; a failure is kept in `setupError`.
    ///
    /// The measured connections attach at the scratch folder when the server allows it (and the native floor resolves
    /// its paths from it), so that a path has as many components as in an export holding only the fixtures; otherwise
    /// they attach at `aname` and the scratch folder is the first component of every path.
    func prepare(_ plan: [(ScenarioSpec, [ParamSet])]) {
        guard let store else { return }
        do {
            let folder = try Fixtures.makeScratchFolder(in: store)
            var prefix = folder
            if let nine = store as? NinePFixtureStore, attachAtScratchFolder {
                let candidate = (aname.hasSuffix("/") ? String(aname.dropLast()) : aname) + folder
                if nine.attach(candidate, reaches: folder) {
                    measuredAname = candidate
                    prefix = ""
                }
            } else if spec == .native {
                prefix = ""  // native paths are resolved from the scratch folder itself
            }
            let f = Fixtures(store: store, folder: folder, prefix: prefix, local: ownFolder.map { $0 + folder }, seed: options.seed)
            fixtures = f
            if spec == .native {
                let fd = openat(nativeRoot, String(folder.dropFirst()), openPathOnly | O_DIRECTORY | O_CLOEXEC)
                guard fd >= 0 else { throw BenchError.fixture("open \(ownFolder ?? "")\(folder): \(String(cString: strerror(errno)))") }
                Glibc.close(nativeRoot)
                nativeRoot = fd
            }
            try f.makeBase()
            try Self.makeFixtures(f, plan)
        } catch {
            setupError = "\(error)"
        }
    }

    /// The measured connection of `msize` over the link `params` name (made on first use).
    func client(msize: Int, params: ParamSet) throws -> Client {
        guard let host else { throw BenchError.server("native results have no connection") }
        return try connections.client(msize: msize, params: params, host: host, options: clientOptions(msize: msize))
    }

    /// Opens the direct measured connection of each msize in `msizes` (before the limits, which need what was granted).
    func connect(msizes: Set<Int>) throws {
        guard let host, setupError == nil else { return }
        for msize in msizes.sorted() {
            granted[msize] = try connections.client(msize: msize, link: nil, host: host, options: clientOptions(msize: msize)).msize
        }
    }

    /// The options of a measured connection: the user to attach as, and `--rpc-timeout`.
    private func clientOptions(msize: Int = 1 << 20) -> ClientOptions {
        ClientOptions(msize: msize, uname: options.uname, nUname: options.uid, rpcTimeout: options.rpcTimeout, spin: options.spin)
    }

    /// The msize the server granted for a request of `msize` (nil: not connected, or native).
    func grantedMsize(_ msize: Int) -> Int? { granted[msize] }

    /// Where the server's CPU time is read: its process, this one for inproc, nowhere for native and external servers.
    var serverCPU: ServerCPUSource {
        switch spec {
        case .inproc: return .inproc
        case .external, .native: return .none
        case .builtin, .diod: return host?.processID.map { .process($0) } ?? .none
        }
    }

    /// Measures the link relay's own cost on this server (when the run asks for a link and the server answered).
    func measureRelayCost() {
        guard let host, setupError == nil else { return }
        relayCost = BenchKit.measureRelayCost(host, aname: measuredAname, options: clientOptions(), seed: options.seed)
    }

    /// The native floor's environment (nil for a 9P server or before `prepare`).
    var nativeEnvironment: NativeEnvironment? {
        guard spec == .native, let fixtures else { return nil }
        return NativeEnvironment(root: nativeRoot, fixtures: fixtures, memNode: options.memNode, seed: options.seed)
    }

    /// The report's `server` before a connection answered.
    var baseInfo: ServerInfo {
        switch spec {
        case .native: return ServerInfo(kind: "native", transport: "none")
        case .builtin, .inproc: return ServerInfo(kind: spec.kind, transport: "socketpair")
        case .diod: return ServerInfo(kind: "diod", address: host?.address, transport: "unix")
        case let .external(a): return ServerInfo(kind: "external", address: a.description, transport: a.transportName)
        }
    }

    /// The report's `server` as `client` negotiated it (with the relay's cost when `params` name a link).
    func info(_ client: Client, _ params: ParamSet) -> ServerInfo {
        var i = baseInfo
        if params[.linkDelay] != nil { i.relayCostUs = relayCost }
        if client.channelCount > 0 { i.transport = "channel" }  // what ran: the server granted channels
        i.version = client.versionString
        i.extensions = client.extensions.map(\.description)
        i.msize = client.msize
        return i
    }

    /// Removes the scratch folder (through 9P: what the bench made, nothing else), closes the connections, stops a
    /// server the bench started and removes the folder it made; returns what could not be cleaned up.
    @discardableResult
    func close() -> [String] {
        var problems: [String] = []
        fidsLeft = connections.close()
        if let f = fixtures {
            do { try f.remove() } catch where ownFolder == nil {
                problems.append("could not remove the scratch folder \(f.prefix) from \(name): \(error)")
            } catch {
                // the folder holding it goes below
            }
            fixtures = nil
        }
        if let nine = store as? NinePFixtureStore {
            fixtureRPCs = Dictionary(uniqueKeysWithValues: nine.client.stats.snapshot().byType.filter { $0.value > 0 }
                .map { ($0.key.description, $0.value) })
        }
        store?.close()
        store = nil
        if nativeRoot >= 0 { Glibc.close(nativeRoot); nativeRoot = -1 }
        host?.stop()
        if let dir = ownFolder { try? FileManager.default.removeItem(atPath: dir) }
        ownFolder = nil
        return problems
    }

    /// Makes every fixture the scenarios of `plan` use.
    private static func makeFixtures(_ f: Fixtures, _ plan: [(ScenarioSpec, [ParamSet])]) throws {
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
        for d in depths.sorted() { try f.makeStatChain(depth: d) }
        for s in reads.sorted() { try f.makeReadFile(size: s) }
        for s in writes.sorted() { try f.makeWriteFile(size: s) }
        for n in directories.sorted() { try f.makeDirectory(entries: n) }
        if small > 0 { try f.makeSmallFile(size: small) }
        if link { try f.makeSymlink() }
        if sync { try f.makeSyncFile() }
    }
}
