import Glibc
import Synchronization
import Syscall
import SystemPackage

/// A 9P2000.L server (with gVisor's extensions up to N = 13) dispatching to a `FileServer`.
///
/// Each connection has one thread that reads a request and runs it itself; a request still running a monitor
/// tick later hands reading over to another thread (at most `workers` requests run per connection, at most
/// `extraThreads` threads are added server-wide), so pipelined tags may complete out of order and a blocked
/// request never stops the others. Use `serve(fd:)` for an
/// already connected stream socket (socketpair, accepted Unix or TCP socket), or `listen(_:)` and
/// `run()`/`start()` to accept.
public final class Server: Sendable {
    /// The backend every request is dispatched to.
    public let fileServer: any FileServer
    /// The options given at creation.
    public let options: ServerOptions
    /// Threads beyond each connection's first (ServerOptions.extraThreads).
    let budget: ThreadBudget
    let monitor: StallMonitor
    /// ServerOptions.spin in nanoseconds (nil: no spinning).
    let spinNanoseconds: UInt64?

    private struct State {
        var connections: [Int: ServerConnection] = [:]
        var nextID = 1
        var listeners: [Listener] = []
        var stopped = false
        var running = false
    }

    private let state = Locked(State())
    /// A self-pipe that wakes `run()`'s poll on `stop()` or a new listener.
    private let wakeRead: Int32
    private let wakeWrite: Int32

    /// Creates a server; no thread runs until `serve`, `run` or `start`.
    public init(fileServer: any FileServer, options: ServerOptions = .init()) {
        self.fileServer = fileServer
        self.options = options
        budget = ThreadBudget(limit: options.extraThreads)
        spinNanoseconds = options.spin.map(\.nanosecondCount).flatMap { $0 > 0 ? $0 : nil }
        let ref = ServerReference()
        monitor = StallMonitor(connections: { ref.server?.state.withLock { Array($0.connections.values) } })
        var fds: [Int32] = [-1, -1]
        let r = pipe(&fds)
        precondition(r == 0, "pipe failed: \(errno)")
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        ref.server = self
    }

    deinit {
        monitor.stop()
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }

    /// Serves a connected stream socket on its own thread and returns at once; the server owns `fd` and closes it.
    public func serve(fd: Int32) {
        let connection = state.withLock { s -> ServerConnection? in
            guard !s.stopped else { return nil }
            let c = ServerConnection(id: s.nextID, server: self, fd: fd)
            s.nextID += 1
            s.connections[c.id] = c
            return c
        }
        guard let connection else {
            Glibc.close(fd)
            return
        }
        log("connection \(connection.id): open (\(connection.transport.canCarryFDs ? "unix" : "tcp"), donate FDs: \(connection.donate))")
        monitor.start()
        startThread { connection.work() }
    }

    /// Binds and listens on `address` (accepting starts with `run()` or `start()`); returns the bound address.
    @discardableResult
    public func listen(_ address: Address) throws -> Address {
        let listener = try Listener.open(address)
        let accepted = state.withLock { s -> Bool in
            guard !s.stopped else { return false }
            s.listeners.append(listener)
            return true
        }
        guard accepted else {
            listener.close()
            throw Errno.badFileDescriptor
        }
        wake()
        log("listening on \(listener.address)")
        return listener.address
    }

    /// The addresses listened on.
    public var addresses: [Address] { state.withLock { $0.listeners.map(\.address) } }

    /// Connections currently open.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Accepts connections on every listener until `stop()`; then closes the listeners (removing Unix socket files).
    public func run() {
        let proceed = state.withLock { s -> Bool in
            guard !s.stopped, !s.running else { return false }
            s.running = true
            return true
        }
        guard proceed else { return }
        while true {
            let (listeners, stopped) = state.withLock { ($0.listeners, $0.stopped) }
            if stopped { break }
            var pfds = listeners.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            pfds.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            do { _ = try retryingOnInterrupt { poll(&pfds, nfds_t(pfds.count), -1) } } catch { break }
            if pfds.last!.revents != 0 { drainWake() }
            for (i, l) in listeners.enumerated() where pfds[i].revents & Int16(POLLIN) != 0 {
                acceptOne(l)
            }
        }
        let listeners = state.withLock { s -> [Listener] in
            s.running = false
            defer { s.listeners = [] }
            return s.listeners
        }
        for l in listeners { l.close() }
    }

    /// Runs `run()` on a background thread.
    public func start() {
        startThread { [self] in self.run() }
    }

    /// Stops accepting and shuts every connection down (requests already running finish); idempotent.
    public func stop() {
        let (connections, closeListeners) = state.withLock { s -> ([ServerConnection], [Listener]) in
            s.stopped = true
            let idle = s.running ? [] : s.listeners
            if !s.running { s.listeners = [] }
            return (Array(s.connections.values), idle)
        }
        for l in closeListeners { l.close() }
        for c in connections { c.shutdown() }
        wake()
        monitor.stop()
    }

    private func acceptOne(_ listener: Listener) {
        // accept4 is _GNU_SOURCE-only; the race window for CLOEXEC only matters to a forking embedder.
        let fd = accept(listener.fd, nil, nil)
        guard fd >= 0 else { return }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        if listener.isTCP {
            guard let peer = peerOrLocal(fd, peer: true),
                  (CIDR.loopback + options.allow).contains(where: { $0.contains(peer.address) }) else {
                let who = peerOrLocal(fd, peer: true).map { CIDR(bytes: $0.address).description } ?? "unknown peer"
                log("refused TCP connection from \(who): not loopback and not in --allow")
                Glibc.close(fd)
                return
            }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        serve(fd: fd)
    }

    private func wake() {
        var b: UInt8 = 1
        _ = Glibc.write(wakeWrite, &b, 1)
    }

    private func drainWake() {
        var buf = [UInt8](repeating: 0, count: 64)
        while Glibc.read(wakeRead, &buf, buf.count) > 0 {}
    }

    func connectionEnded(_ connection: ServerConnection, reason: String) {
        _ = state.withLock { $0.connections.removeValue(forKey: connection.id) }
        log("connection \(connection.id): closed (\(reason))")
    }

    func log(_ message: String) { options.log?(message) }
}

extension CIDR {
    /// A host address as a CIDR (/32 or /128).
    init(bytes: [UInt8]) {
        var buf = [CChar](repeating: 0, count: 64)
        _ = bytes.withUnsafeBytes { inet_ntop(bytes.count == 4 ? AF_INET : AF_INET6, $0.baseAddress, &buf, 64) }
        self = CIDR(String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))!
    }
}

/// The server as the monitor thread sees it: a weak reference, so the monitor never keeps it alive.
private final class ServerReference: @unchecked Sendable {  // `server` is set once in Server.init, before the monitor thread starts
    weak var server: Server?
}
