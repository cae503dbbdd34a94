import Glibc
import Synchronization
import SystemPackage

/// A frame whose body could not be decoded: the connection is closed (PROTOCOL §1).
struct MalformedFrame: Error {
    let reason: String
}

/// One client connection, served by a small crew of threads that pass the receive role among themselves.
///
/// The thread holding the role reads the next request and runs it itself; nobody reads meanwhile, so a lone
/// request costs no thread hand-off. If it is still running a monitor tick later, another thread (within the
/// per-connection and per-server limits) takes the role over and the first one leaves once it is done
/// (gVisor's p9 server passes on the receive role, not the request). When `workers` requests run, the holder
/// only reads: requests wait in a queue (where Tflush can still drop them) and run in order as threads free up.
final class ServerConnection: Sendable {
    /// Who runs what on this connection; guarded by `crew`.
    struct Crew {
        enum Holder: Equatable {
            /// Some thread is reading (or about to).
            case reading
            /// The holder runs request number `seq` and takes the role back after, unless a rescuer took it.
            case running(UInt64)
            /// Nobody reads any more: the peer closed or the connection failed.
            case closed
        }

        struct Inflight {
            let frame: RequestFrame
            var queued: Bool
            /// Tflush frames to answer once this request's reply has gone out.
            var flushes: [RequestFrame] = []
        }

        var holder = Holder.reading
        var seq: UInt64 = 0
        /// The `seq` the monitor saw running at its last tick.
        var seen: UInt64 = 0
        var threads = 1
        var running = 0
        var queue: [RequestFrame] = []
        var inflight: [Tag: Inflight] = [:]
    }

    struct Session {
        var fids: [FID: any ServerFile] = [:]
    }

    let id: Int
    let server: Server
    let transport: StreamTransport
    /// Whether replies may carry host FDs (Unix socket and donation enabled).
    let donate: Bool
    let frames: FramePool
    let pipes: PipePool
    let outbox: Outbox
    let inbox: Inbox
    let crew = Locked(Crew())
    let session = Locked(Session())
    /// The negotiated extension version N (0 until Tversion).
    let version = Atomic<UInt32>(0)
    /// The negotiated msize (before Tversion: the server's maximum).
    let msize: Atomic<Int>
    /// Requests this connection may run at once (ServerOptions.workers); one more thread may read.
    let workers: Int
    /// Shared-memory channels opened with Tchannel.
    let channels = Locked(ChannelSet())
    /// Why reading stopped (logged when the connection ends).
    let closeReason = Locked<String?>(nil)

    init(id: Int, server: Server, fd: Int32) {
        self.id = id
        self.server = server
        transport = StreamTransport(fd: fd)
        donate = server.options.donateFDs && transport.canCarryFDs
        let max = server.options.effectiveMaxMsize
        msize = Atomic(max)
        frames = FramePool(capacity: max, limit: server.options.maxInflightPerConnection)
        pipes = PipePool(capacity: max)
        outbox = Outbox(transport: transport, frames: frames, pipes: pipes)
        inbox = Inbox()
        workers = Swift.max(1, server.options.workers)
        crew.withLock { c in
            c.inflight.reserveCapacity(64)
            c.queue.reserveCapacity(16)
        }
    }

    // MARK: the crew

    /// A thread of this connection. It starts holding the receive role; it reads and runs requests until a
    /// rescuer takes the role, then runs queued requests until there are none, and leaves.
    func work() {
        var holding = true
        var next: RequestFrame?
        while true {
            if holding {
                switch receive() {
                case let .request(frame):
                    holding = runAsHolder(frame)
                case let .end(reason):
                    stopReading(reason)
                    holding = false
                }
            } else {
                guard let frame = next ?? nextQueued(finished: false) else { return leave() }
                execute(frame, flushNow: true)
                next = nextQueued(finished: true)
            }
        }
    }

    /// Runs `frame` on the holding thread, or queues it behind others (keeping their order) when `workers`
    /// requests run; returns whether this thread still holds the role afterwards.
    private func runAsHolder(_ frame: RequestFrame) -> Bool {
        let seq = crew.withLock { c -> UInt64? in
            if c.running >= workers || !c.queue.isEmpty {
                c.queue.append(frame)
                c.inflight[frame.tag] = Crew.Inflight(frame: frame, queued: true)
                return nil
            }
            c.running += 1
            c.seq &+= 1
            c.holder = .running(c.seq)
            c.inflight[frame.tag] = Crew.Inflight(frame: frame, queued: false)
            return c.seq
        }
        guard let seq else { return true }
        server.monitor.noteActivity()
        // The reply goes out once this thread reads again (receive flushes before it blocks), together with the
        // replies of requests already read: a thread preempted inside that send (client and server sharing a CPU)
        // is then reading, not running, so the monitor neither keeps ticking fast nor sends a rescuer.
        execute(frame, flushNow: false)
        let (holding, queued) = crew.withLock { c -> (Bool, RequestFrame?) in
            guard c.holder == .running(seq) else {
                // A rescuer reads now: this thread runs what queued meanwhile, if anything, keeping its turn.
                guard c.holder != .closed, !c.queue.isEmpty else {
                    c.running -= 1
                    return (false, nil)
                }
                return (false, takeQueued(&c))
            }
            c.running -= 1
            c.holder = .reading
            return (true, nil)
        }
        if holding { return true }
        outbox.flush()  // the new holder may already be blocked reading
        var next = queued
        while let frame = next {
            execute(frame, flushNow: true)
            next = nextQueued(finished: true)
        }
        return false
    }

    /// The next queued request for a thread without the role, or nil; with `finished`, the thread has just
    /// finished one (its turn passes straight to the next, so nothing overtakes the queue meanwhile).
    private func nextQueued(finished: Bool) -> RequestFrame? {
        crew.withLock { c -> RequestFrame? in
            // A thread not already running one waits for a free turn: the running ones drain the queue.
            guard c.holder != .closed, !c.queue.isEmpty, finished || c.running < workers else {
                if finished { c.running -= 1 }
                return nil
            }
            if !finished { c.running += 1 }
            return takeQueued(&c)
        }
    }

    /// Pops the oldest queued request (crew lock held; the caller's running turn covers it).
    private func takeQueued(_ c: inout Crew) -> RequestFrame {
        let frame = c.queue.removeFirst()
        c.inflight[frame.tag]?.queued = false
        return frame
    }

    /// Monitor tick: gives the role to a new thread when the holder has been running one request since the
    /// last tick. Returns whether the holder is running a request (the monitor keeps ticking).
    func checkStall() -> Bool {
        let rescue = crew.withLock { c -> Bool? in
            guard case let .running(seq) = c.holder else { return nil }
            guard c.seen == seq else {
                c.seen = seq
                return false
            }
            guard c.threads <= workers, server.budget.take() else { return false }
            c.threads += 1
            c.holder = .reading
            return true
        }
        guard let rescue else { return false }
        if rescue {
            startThread { [self] in
                outbox.flush()  // replies the stalled holder held back for its batch
                work()
            }
        }
        return true
    }

    /// The peer closed or the connection failed: nobody reads any more and queued requests are dropped.
    private func stopReading(_ reason: String) {
        let dropped = crew.withLock { c -> [RequestFrame] in
            c.holder = .closed
            let q = c.queue
            c.queue.removeAll()
            for f in q { c.inflight.removeValue(forKey: f.tag) }
            return q
        }
        for f in dropped { frames.give(f) }
        inbox.release(to: frames)
        transport.shutdown()
        closeReason.withLock { $0 = $0 ?? reason }
    }

    /// A thread is done with this connection; the last one tears it down.
    private func leave() {
        let last = crew.withLock { c -> Bool in
            c.threads -= 1
            return c.threads == 0
        }
        if last { teardown() } else { server.budget.give() }
    }

    // MARK: executing

    /// A reply at least this large (header and payload) is sent as soon as it is ready, not with its batch.
    static let bulkReplyBytes = 16 << 10

    /// Decodes `frame`, calls the file server and queues the reply over the frame (then any Rflush waiting on it).
    func execute(_ frame: RequestFrame, flushNow: Bool) {
        do {
            let reply = try dispatch(frame, version: version.load(ordering: .relaxed))
            frame.replyLength = reply.length
            frame.fd = reply.fd
            frame.spliced = reply.spliced
            frame.pipe = reply.pipe
        } catch let m as MalformedFrame {
            abort("malformed \(MessageType(rawValue: frame.type)?.description ?? "type \(frame.type)"): \(m.reason)")
            frame.replyLength = 0
        } catch {
            let code = (error as? Errno)?.rawValue ?? EIO
            encode(Rlerror(errno: UInt32(code)), tag: frame.tag, in: frame)
        }
        let flushes = crew.withLock { c -> [RequestFrame] in
            guard let entry = c.inflight.removeValue(forKey: frame.tag) else { return [] }
            return entry.flushes
        }
        if frame.replyLength == 0 {
            frames.give(frame)
        } else {
            // A bulk reply goes out at once: held for the batch it saves one send and leaves the client idle meanwhile.
            let bulk = frame.replyLength + frame.spliced >= Self.bulkReplyBytes
            outbox.post(frame, now: (flushNow || bulk) && flushes.isEmpty)
        }
        // Rflush only after the reply it waited for (PROTOCOL §4.2).
        for (i, f) in flushes.enumerated() {
            encode(Rflush(), tag: f.tag, in: f)
            outbox.post(f, now: flushNow && i == flushes.count - 1)
        }
    }

    /// Encodes `message` over `frame` as its reply.
    func encode<M: Message>(_ message: M, tag: Tag, in frame: RequestFrame) {
        var e = WireEncoder(base: frame.base, capacity: frame.capacity)
        frame.replyLength = (try? Frame.encode(message, tag: tag, into: &e)) ?? 0
    }

    // MARK: closing

    /// Closes the connection because of a protocol violation; the holder notices and tears down.
    func abort(_ reason: String) {
        server.log("connection \(id): closing: \(reason)")
        transport.shutdown()
    }

    /// Asks the reader to stop (server shutdown).
    func shutdown() { transport.shutdown() }

    /// Drops every fid (releasing the file server's resources) and unregisters from the server.
    private func teardown() {
        let fids = session.withLock { s -> [FID: any ServerFile] in
            let f = s.fids
            s.fids = [:]
            return f
        }
        closeChannels()
        for file in fids.values { file.clunk() }
        transport.shutdown()
        server.connectionEnded(self, reason: closeReason.withLock { $0 } ?? "closed")
    }
}
