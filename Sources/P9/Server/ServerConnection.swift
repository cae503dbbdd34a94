import Glibc
import Synchronization
import Syscall
import SystemPackage

/// One request read off a connection, queued for a worker.
final class ServerRequest: PoolTask {
    static let queued: UInt8 = 0, running: UInt8 = 1, cancelled: UInt8 = 2

    let connection: ServerConnection
    let buffer: FrameBuffer
    let size: Int
    let type: UInt8
    let tag: Tag
    /// queued → running (a worker took it) or queued → cancelled (Tflush got there first).
    let state = Atomic<UInt8>(ServerRequest.queued)

    init(connection: ServerConnection, buffer: FrameBuffer, size: Int, type: UInt8, tag: Tag) {
        self.connection = connection
        self.buffer = buffer
        self.size = size
        self.type = type
        self.tag = tag
    }

    func run() { connection.execute(self) }
}

/// A frame whose body could not be decoded: the connection is closed (PROTOCOL §1).
struct MalformedFrame: Error {
    let reason: String
}

/// One client connection: a reader thread that frames requests, a fid table, and serialised replies.
final class ServerConnection: Sendable {
    struct Inflight {
        let request: ServerRequest
        /// Tflush tags waiting for this request's reply.
        var flushers: [Tag] = []
    }

    struct Session {
        var fids: [FID: any ServerFile] = [:]
        var inflight: [Tag: Inflight] = [:]
        var version: UInt32 = 0
        var closed = false
    }

    let id: Int
    let server: Server
    let transport: StreamTransport
    /// Whether replies may carry host FDs (Unix socket and donation enabled).
    let donate: Bool
    let frames: FramePool
    let session = Mutex(Session())
    /// The negotiated msize (before Tversion: the server's maximum).
    let msize: Atomic<Int>
    /// Serialises whole replies on the socket.
    private let sendLock = Mutex(())

    init(id: Int, server: Server, fd: Int32) {
        self.id = id
        self.server = server
        transport = StreamTransport(fd: fd)
        donate = server.options.donateFDs && transport.canCarryFDs
        let max = server.options.effectiveMaxMsize
        msize = Atomic(max)
        frames = FramePool(capacity: max, limit: server.options.maxInflightPerConnection)
    }

    // MARK: reading

    /// Reads frames until EOF, an error, or a malformed frame; then tears the connection down.
    func readLoop() {
        var current = frames.take()
        var filled = 0
        var reason = "peer closed"
        reading: while true {
            while filled >= Frame.headerSize {
                let size = Int(UInt32(littleEndian: current.base.loadUnaligned(as: UInt32.self)))
                let limit = msize.load(ordering: .relaxed)
                guard size >= Frame.headerSize, size <= limit else {
                    reason = "malformed frame: size \(size), msize \(limit)"
                    break reading
                }
                guard filled >= size else { break }
                // One read may hold the start of the next frame: move those bytes to a fresh buffer.
                let next = frames.take()
                let extra = filled - size
                if extra > 0 { next.base.copyMemory(from: current.base + size, byteCount: extra) }
                let failure = accept(current, size: size)
                current = next
                filled = extra
                if let failure { reason = failure; break reading }
            }
            let buffer = current
            let n: Int
            do { n = try retryingOnInterrupt { recv(transport.fd, buffer.base + filled, buffer.capacity - filled, 0) } } catch {
                reason = "read error: \(error)"
                break reading
            }
            if n == 0 { break }
            filled += n
        }
        frames.give(current)
        teardown(reason)
    }

    /// Takes ownership of a complete frame; returns why the connection must close, or nil.
    private func accept(_ buffer: FrameBuffer, size: Int) -> String? {
        let type = buffer.base.load(fromByteOffset: 4, as: UInt8.self)
        let tag = Tag(rawValue: UInt16(littleEndian: buffer.base.loadUnaligned(fromByteOffset: 5, as: UInt16.self)))
        switch type {
        case MessageType.tversion.rawValue:
            defer { frames.give(buffer) }
            return negotiate(buffer, size: size, tag: tag) ? nil : "malformed Tversion"
        case MessageType.tflush.rawValue:
            defer { frames.give(buffer) }
            return flush(buffer, size: size, tag: tag) ? nil : "malformed Tflush"
        default:
            let request = ServerRequest(connection: self, buffer: buffer, size: size, type: type, tag: tag)
            session.withLock { $0.inflight[tag] = Inflight(request: request) }
            if !server.pool.submit(request) {
                session.withLock { _ = $0.inflight.removeValue(forKey: tag) }
                frames.give(buffer)
                return "server stopping"
            }
            return nil
        }
    }

    /// Tversion, answered inline (PROTOCOL §4.1, gVisor order; msize above the maximum is clamped).
    private func negotiate(_ buffer: FrameBuffer, size: Int, tag: Tag) -> Bool {
        var d = WireDecoder(base: buffer.base + Frame.headerSize, count: size - Frame.headerSize)
        guard let t = try? Tversion(from: &d) else { return false }
        let errno: Int32
        if t.msize == 0 {
            errno = EINVAL
        } else if let n = P9Version.parse(t.version) {
            if n > server.options.maxVersion {
                errno = EAGAIN
            } else if Int(t.msize) < ServerOptions.msizeFloor {
                errno = EINVAL
            } else {
                let granted = min(Int(t.msize), server.options.effectiveMaxMsize)
                session.withLock { $0.version = n }
                msize.store(granted, ordering: .relaxed)
                let reply = Rversion(msize: UInt32(granted), version: P9Version.string(for: n))
                sendMessage(reply, tag: tag, in: buffer)
                return true
            }
        } else {
            errno = EINVAL
        }
        sendMessage(Rlerror(errno: UInt32(errno)), tag: tag, in: buffer)
        return true
    }

    /// Tflush, answered inline: a queued request is dropped; a running one gets its reply first, then Rflush.
    private func flush(_ buffer: FrameBuffer, size: Int, tag: Tag) -> Bool {
        var d = WireDecoder(base: buffer.base + Frame.headerSize, count: size - Frame.headerSize)
        guard let t = try? Tflush(from: &d) else { return false }
        let answerNow = session.withLock { s -> Bool in
            guard var entry = s.inflight[t.oldTag] else { return true }
            if entry.request.state.compareExchange(expected: ServerRequest.queued, desired: ServerRequest.cancelled,
                                                   ordering: .acquiringAndReleasing).exchanged {
                s.inflight.removeValue(forKey: t.oldTag)
                return true
            }
            entry.flushers.append(tag)
            s.inflight[t.oldTag] = entry
            return false
        }
        if answerNow { sendMessage(Rflush(), tag: tag, in: buffer) }
        return true
    }

    // MARK: executing

    /// Runs on a worker: decode, call the file server, reply over the request's own buffer.
    func execute(_ request: ServerRequest) {
        guard request.state.compareExchange(expected: ServerRequest.queued, desired: ServerRequest.running,
                                            ordering: .acquiringAndReleasing).exchanged else {
            frames.give(request.buffer)  // flushed before it started
            return
        }
        let (closed, version) = session.withLock { ($0.closed, $0.version) }
        if !closed {
            do {
                let reply = try dispatch(request, version: version)
                send(UnsafeRawBufferPointer(start: request.buffer.base, count: reply.length), fd: reply.fd)
            } catch let m as MalformedFrame {
                abort("malformed \(MessageType(rawValue: request.type)?.description ?? "type \(request.type)"): \(m.reason)")
            } catch {
                let code = (error as? Errno)?.rawValue ?? EIO
                sendMessage(Rlerror(errno: UInt32(code)), tag: request.tag, in: request.buffer)
            }
        }
        let flushers = session.withLock { s -> [Tag] in
            guard let entry = s.inflight[request.tag], entry.request === request else { return [] }
            s.inflight.removeValue(forKey: request.tag)
            return entry.flushers
        }
        for tag in flushers { sendMessage(Rflush(), tag: tag, in: request.buffer) }
        frames.give(request.buffer)
    }

    // MARK: writing

    /// Encodes `message` over `buffer` and sends it (used for small replies).
    func sendMessage<M: Message>(_ message: M, tag: Tag, in buffer: FrameBuffer) {
        var e = WireEncoder(base: buffer.base, capacity: buffer.capacity)
        guard let n = try? Frame.encode(message, tag: tag, into: &e) else { return }
        send(UnsafeRawBufferPointer(start: buffer.base, count: n), fd: nil)
    }

    /// Sends one whole reply; a donated `fd` rides on its first bytes and is closed afterwards.
    func send(_ bytes: UnsafeRawBufferPointer, fd: FileDescriptor?) {
        defer { try? fd?.close() }
        let ok = sendLock.withLock { _ -> Bool in
            do {
                try transport.send(bytes, fds: fd.map { [$0.rawValue] } ?? [])
                return true
            } catch {
                return false
            }
        }
        if !ok { transport.shutdown() }
    }

    /// Closes the connection because of a protocol violation; the reader notices and tears down.
    func abort(_ reason: String) {
        server.log("connection \(id): closing: \(reason)")
        transport.shutdown()
    }

    /// Asks the reader to stop (server shutdown).
    func shutdown() { transport.shutdown() }

    /// Drops every fid (releasing the file server's resources) and unregisters from the server.
    private func teardown(_ reason: String) {
        let fids = session.withLock { s -> [FID: any ServerFile] in
            s.closed = true
            let f = s.fids
            s.fids = [:]
            return f
        }
        for file in fids.values { file.clunk() }
        transport.shutdown()
        server.connectionEnded(self, reason: reason)
    }
}
