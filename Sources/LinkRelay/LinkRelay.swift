import Glibc
import P9
import SystemPackage

/// A user-space link between a 9P client and its server that holds every frame for a one-way delay.
///
/// Per direction, one thread reads whole frames (size[4] framing, with any SCM_RIGHTS descriptors) and timestamps
/// them; another releases each at its `ReleaseSchedule` time, in order, descriptors travelling with their frame. It
/// stands in for a network link where the kernel has no netem qdisc. It ends when either side closes (what is in
/// flight is delivered first) or on `close()`; no thread or descriptor outlives it.
public final class LinkRelay: Sendable {
    /// The relay's socket facing the client.
    public let clientSide: StreamTransport
    /// The relay's socket connected to the server.
    public let serverSide: StreamTransport
    /// The delay each direction adds.
    public let delay: LinkDelay
    private let toServer: RelayDirection
    private let toClient: RelayDirection
    private let threads: RelayThreads
    private let state: Monitor
    private let lifecycle = LifecycleBox()

    /// The /proc comm name of every relay thread.
    public static let threadName = RelayThreads.name

    /// Most bytes one direction holds by default (and the largest frame it accepts): 64 MiB.
    public static let defaultByteLimit = 64 << 20

    /// Relays between `clientSide` and `serverSide` (both owned by the relay from now on), holding every frame for
    /// `delay`; jitter is drawn from `seed`. Throws EINVAL for a `byteLimit` below 4 KiB, EAGAIN when its threads
    /// cannot be started.
    public init(clientSide: StreamTransport, serverSide: StreamTransport, delay: LinkDelay, seed: UInt64 = 1,
                byteLimit: Int = LinkRelay.defaultByteLimit) throws(Errno) {
        guard byteLimit >= 4096 else { throw .invalidArgument }
        self.clientSide = clientSide
        self.serverSide = serverSide
        self.delay = delay
        toServer = RelayDirection(from: clientSide, to: serverSide, delay: delay, seed: seed, byteLimit: byteLimit)
        toClient = RelayDirection(from: serverSide, to: clientSide, delay: delay, seed: seed ^ 0x5DEE_CE66_D1CE_4E5B,
                                  byteLimit: byteLimit)
        threads = RelayThreads()
        state = Monitor()
        let lifecycle = self.lifecycle
        for (direction, sender) in [(toServer, false), (toServer, true), (toClient, false), (toClient, true)] {
            state.withLock { lifecycle.running += 1 }  // before the thread can end and count itself out
            let started = threads.start { [state] in
                if sender { direction.sendLoop() } else { direction.readLoop() }
                state.withLock {
                    lifecycle.running -= 1
                    if lifecycle.running == 0 { state.broadcast(.finished) }
                }
            }
            if !started {
                state.withLock { lifecycle.running -= 1 }
                close()
                throw .resourceTemporarilyUnavailable
            }
        }
    }

    /// Starts a relay in front of `server` (a connected transport, owned by the relay from now on); returns it and
    /// the transport the client uses (a new socketpair end, which the client owns).
    public static func inFront(of server: StreamTransport, delay: LinkDelay, seed: UInt64 = 1,
                               byteLimit: Int = LinkRelay.defaultByteLimit) throws(Errno) -> (relay: LinkRelay, client: StreamTransport) {
        let (client, clientSide) = try StreamTransport.socketPair()
        do {
            let relay = try LinkRelay(clientSide: clientSide, serverSide: server, delay: delay, seed: seed, byteLimit: byteLimit)
            return (relay, client)
        } catch {
            client.close()
            throw error
        }
    }

    deinit { close() }

    /// What went towards the server (client requests).
    public var toServerStatistics: LinkDirectionStatistics { toServer.statistics }
    /// What went towards the client (server replies).
    public var toClientStatistics: LinkDirectionStatistics { toClient.statistics }

    /// Whether all four threads have returned (either side closed, or `close()`).
    public var isFinished: Bool { state.withLock { lifecycle.running == 0 } }

    /// Blocks until all four threads have returned (after either side closed).
    public func waitUntilFinished() {
        state.withLock { while lifecycle.running > 0 { state.wait(.finished) } }
    }

    /// Stops at once: frames in flight are dropped (their descriptors closed), the threads joined and both sockets
    /// closed. Idempotent.
    public func close() {
        let first = state.withLock { () -> Bool in
            defer { lifecycle.closed = true }
            return !lifecycle.closed
        }
        guard first else { return }
        toServer.stop()
        toClient.stop()
        threads.joinAll()
        clientSide.close()
        serverSide.close()
    }
}

/// The relay's running-thread count and closed flag, shared with its threads.
private final class LifecycleBox: @unchecked Sendable {  // both fields are read and written only under LinkRelay.state
    /// Threads started and not yet returned.
    var running = 0
    /// Whether close() has begun.
    var closed = false
}
