import Foundation
import Glibc
import P9
import Synchronization
import SystemPackage
import TestSupport
import XCTest

/// The client's engine against a scripted server: replies however they are cut or batched on the wire reach
/// their callers, an Rread payload lands in the caller's buffer, and a call past its deadline fails cleanly.
final class ClientEngineTests: XCTestCase {
    /// A connected client and the fake server, attached; the server thread runs `script` after the attach.
    private func connect(options: ClientOptions = ClientOptions(), script: @escaping @Sendable (ClientFakeServer) throws -> Void)
        throws -> (Client, ClientFile, TestThread) {
        let (c, s) = try StreamTransport.socketPair()
        let server = ClientFakeServer(s)
        let thread = TestThread {
            try server.handshake(accept: 0)
            try server.answerAttach()
            try script(server)
        }
        let client = try Client(transport: c, options: options)
        let root = try client.attach(aname: "/")
        return (client, root, thread)
    }

    /// The bytes of one reply frame.
    private static func frame<M: Message>(_ message: M, tag: Tag) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 70_000)
        let n = try buffer.withUnsafeMutableBytes { try Frame.encode(message, tag: tag, into: $0, msize: 70_000) }
        return Array(buffer[0..<n])
    }

    /// The fid a request body starts with (Tgetattr, Tread).
    private static func fid(ofRequest body: [UInt8]) -> UInt32 {
        UInt32(body[0]) | UInt32(body[1]) << 8 | UInt32(body[2]) << 16 | UInt32(body[3]) << 24
    }

    func testRepliesCutAtEveryByteReachTheirCallers() throws {
        let callers = 6
        let (client, root, server) = try connect { server in
            for _ in 0..<callers {  // the clones
                guard let r = try server.read() else { return }
                try server.reply(Rwalk(qids: []), tag: r.tag)
            }
            // Every request first, then all replies as one stream written a few bytes at a time.
            var stream: [UInt8] = []
            for _ in 0..<callers {
                guard let r = try server.read() else { return }
                let fid = Self.fid(ofRequest: r.body)
                stream += try Self.frame(Rgetattr(valid: .all, qid: QID(path: UInt64(fid) * 1000), attr: Attr()), tag: r.tag)
            }
            var at = 0, step = 1
            while at < stream.count {
                let n = min(step, stream.count - at)
                try server.raw(Array(stream[at..<(at + n)]))
                at += n
                step = step % 13 + 1
            }
        }
        let files = try (0..<callers).map { _ in try root.walk([]).file }
        let results = Locked<[UInt64: UInt64]>([:])
        let threads = files.map { f in
            TestThread {
                let qid = try f.getAttr().qid
                results.withLock { $0[UInt64(f.fid.rawValue)] = qid.path }
            }
        }
        for t in threads { XCTAssertTrue(t.join()); XCTAssertNil(t.error) }
        XCTAssertTrue(server.join())
        XCTAssertNil(server.error)
        let got = results.withLock { $0 }
        XCTAssertEqual(got.count, callers)
        for (fid, path) in got { XCTAssertEqual(path, fid * 1000, "fid \(fid) got its own reply") }
        XCTAssertEqual(client.tagsInUse, 0)
        XCTAssertFalse(client.isClosed)
        client.close()
    }

    func testReadPayloadLandsInTheCallersBufferAmidOtherReplies() throws {
        let payload = patternBytes(20_000, seed: 5)
        let (client, root, server) = try connect { server in
            var read: ClientFakeServer.Request?
            var getattr: ClientFakeServer.Request?
            for _ in 0..<2 {
                guard let r = try server.read() else { return }
                if r.type == MessageType.tread.rawValue { read = r } else { getattr = r }
            }
            guard let read, let getattr else { throw P9Error.protocolViolation("expected a Tread and a Tgetattr") }
            // One write: the Rgetattr, then the Rread cut inside its count field, then the rest.
            var rread = try Self.frame(Rgetattr(valid: .all, qid: QID(path: 77), attr: Attr()), tag: getattr.tag)
            var header = [UInt8](repeating: 0, count: Rread.headerSize)
            try header.withUnsafeMutableBytes { try Rread.encodeHeader(tag: read.tag, count: UInt32(payload.count), into: $0) }
            rread += header[0..<9]
            try server.raw(rread)
            try server.raw(Array(header[9...]) + Array(payload[0..<5000]))
            try server.raw(Array(payload[5000...]))
        }
        let received = Locked<[UInt8]>([])
        let reader = TestThread {
            var buffer = [UInt8](repeating: 0, count: 20_000)
            let n = try buffer.withUnsafeMutableBytes { try root.read(into: $0, at: 0) }
            XCTAssertEqual(n, payload.count)
            received.withLock { $0 = buffer }
        }
        let stat = TestThread { XCTAssertEqual(try root.getAttr().qid.path, 77) }
        XCTAssertTrue(reader.join())
        XCTAssertNil(reader.error)
        XCTAssertTrue(stat.join())
        XCTAssertNil(stat.error)
        XCTAssertTrue(server.join())
        XCTAssertNil(server.error)
        XCTAssertEqual(received.withLock { $0 }, payload)
        XCTAssertEqual(client.tagsInUse, 0)
        client.close()
    }

    func testACallPastItsDeadlineFailsAndBreaksTheConnection() throws {
        let timeout = Duration.milliseconds(300)
        let received = Atomic<Int>(0)
        let (client, root, server) = try connect(options: ClientOptions(rpcTimeout: timeout)) { server in
            // Reads every request and never answers, until the client closes the connection.
            while try server.read() != nil { received.add(1, ordering: .relaxed) }
        }
        let fidsBefore = client.fidsInUse
        let started = ContinuousClock.now
        // A lone call: the caller itself blocks reading the socket, and must still give up.
        XCTAssertThrowsError(try root.walk(["a"])) { error in
            XCTAssertEqual(error as? P9Error, .timedOut(.twalk, timeout))
        }
        let waited = ContinuousClock.now - started
        XCTAssertGreaterThanOrEqual(waited, timeout)
        XCTAssertLessThan(waited, .seconds(5))
        XCTAssertTrue(client.isClosed, "the timeout breaks the connection")
        XCTAssertEqual(client.tagsInUse, 0)
        XCTAssertEqual(client.fidsInUse, fidsBefore, "the walk's new fid went back to the pool")
        XCTAssertThrowsError(try root.getAttr()) { error in
            guard case .connectionClosed = error as? P9Error else { return XCTFail("got \(error)") }
        }
        client.close()
        XCTAssertTrue(server.join())
        XCTAssertEqual(received.load(ordering: .relaxed), 1)
    }

    func testEveryPendingCallFailsWhenOneTimesOut() throws {
        let timeout = Duration.milliseconds(400)
        let received = Atomic<Int>(0)
        let (client, root, server) = try connect(options: ClientOptions(rpcTimeout: timeout)) { server in
            while try server.read() != nil { received.add(1, ordering: .relaxed) }
        }
        // The first call's deadline comes first; the later ones are still within theirs when it breaks the connection.
        let first = TestThread {
            XCTAssertThrowsError(try root.getAttr()) { error in
                XCTAssertEqual(error as? P9Error, .timedOut(.tgetattr, timeout))
            }
        }
        XCTAssertTrue(waitUntil { received.load(ordering: .relaxed) == 1 })
        let errors = Locked<[P9Error]>([])
        let later = (0..<3).map { _ in
            TestThread {
                do throws(P9Error) { _ = try root.getAttr() } catch { errors.withLock { $0.append(error) } }
            }
        }
        XCTAssertTrue(first.join())
        for t in later { XCTAssertTrue(t.join()) }
        let got = errors.withLock { $0 }
        XCTAssertEqual(got.count, 3, "every pending call fails")
        for e in got {
            switch e {
            case .connectionClosed, .timedOut(.tgetattr, timeout): break
            default: XCTFail("unexpected \(e)")
            }
        }
        XCTAssertTrue(client.isClosed)
        XCTAssertEqual(client.tagsInUse, 0)
        XCTAssertEqual(client.fidsInUse, 1)
        client.close()
        XCTAssertTrue(server.join())
    }

    /// The offset and count of a Tread body.
    private static func tread(_ body: [UInt8]) -> (offset: Int, count: Int) {
        var offset = 0, count = 0
        for i in 0..<8 { offset |= Int(body[4 + i]) << (8 * i) }
        for i in 0..<4 { count |= Int(body[12 + i]) << (8 * i) }
        return (offset, count)
    }

    /// An Rread frame carrying `data`.
    private static func rread(_ data: ArraySlice<UInt8>, tag: Tag) throws -> [UInt8] {
        var header = [UInt8](repeating: 0, count: Rread.headerSize)
        try header.withUnsafeMutableBytes { try Rread.encodeHeader(tag: tag, count: UInt32(data.count), into: $0) }
        return header + data
    }

    /// With several reads in flight, the reply after a payload is read with it: every caller still gets its own
    /// reply, a short read stops where it should, and a descriptor riding on the next reply reaches its caller.
    func testRepliesReadWithAPayloadReachTheirCallers() throws {
        let donated = try TemporaryDirectory(prefix: "engine-fd")
        defer { donated.remove() }
        try donated.write("f", [1, 2, 3])
        let readers = 3
        let (client, root, server) = try connect { server in
            for _ in 0..<(readers + 1) {  // the clones
                guard let r = try server.read() else { return }
                try server.reply(Rwalk(qids: []), tag: r.tag)
            }
            var reads: [(tag: Tag, fid: Int, count: Int)] = []
            var getattr: Tag?, lopen: Tag?
            for _ in 0..<(readers + 2) {
                guard let r = try server.read() else { return }
                switch r.type {
                case MessageType.tread.rawValue:
                    reads.append((r.tag, Int(Self.fid(ofRequest: r.body)), Self.tread(r.body).count))
                case MessageType.tgetattr.rawValue: getattr = r.tag
                case MessageType.tlopen.rawValue: lopen = r.tag
                default: throw P9Error.protocolViolation("unexpected type \(r.type)")
                }
            }
            guard let getattr, let lopen, reads.count == readers else { throw P9Error.protocolViolation("missing requests") }
            reads.sort { $0.fid < $1.fid }
            // One write: a full Rread, the Rgetattr, a short Rread; then the Rlopen with its descriptor; then the
            // last full Rread.
            var stream = try Self.rread(patternBytes(reads[0].count, seed: UInt64(reads[0].fid))[...], tag: reads[0].tag)
            stream += try Self.frame(Rgetattr(valid: .all, qid: QID(path: 77), attr: Attr()), tag: getattr)
            stream += try Self.rread(patternBytes(100, seed: UInt64(reads[1].fid))[...], tag: reads[1].tag)
            try server.raw(stream)
            let fd = Glibc.open(donated.appending("f"), O_RDONLY)
            defer { _ = Glibc.close(fd) }
            try server.reply(Rlopen(qid: QID(path: 5)), tag: lopen, fds: [fd])
            try server.raw(try Self.rread(patternBytes(reads[2].count, seed: UInt64(reads[2].fid))[...], tag: reads[2].tag))
        }
        let files = try (0..<(readers + 1)).map { _ in try root.walk([]).file }
        let got = Locked<[Int: [UInt8]]>([:])
        var threads = files.prefix(readers).map { f in
            TestThread {
                var buffer = [UInt8](repeating: 0, count: 8_000)
                let n = try buffer.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }
                got.withLock { $0[Int(f.fid.rawValue)] = Array(buffer[0..<n]) }
            }
        }
        let opened = Locked<FileDescriptor?>(nil)
        threads.append(TestThread { XCTAssertEqual(try root.getAttr().qid.path, 77) })
        threads.append(TestThread { opened.withLock { $0 = try? files[readers].open(.readOnly).hostFD } })
        for t in threads { XCTAssertTrue(t.join()); XCTAssertNil(t.error) }
        XCTAssertTrue(server.join())
        XCTAssertNil(server.error)
        let fids = files.prefix(readers).map { Int($0.fid.rawValue) }.sorted()
        let results = got.withLock { $0 }
        XCTAssertEqual(results[fids[0]], patternBytes(8_000, seed: UInt64(fids[0])))
        XCTAssertEqual(results[fids[1]], patternBytes(100, seed: UInt64(fids[1])))
        XCTAssertEqual(results[fids[2]], patternBytes(8_000, seed: UInt64(fids[2])))
        // The descriptor is the file the server sent.
        let fd = try XCTUnwrap(opened.withLock { $0 }, "the Rlopen's descriptor was lost")
        var mine = stat(), sent = stat()
        XCTAssertEqual(fstat(fd.rawValue, &mine), 0)
        let path = donated.appending("f")
        XCTAssertEqual(lstat(path, &sent), 0)
        XCTAssertEqual(mine.st_ino, sent.st_ino)
        try fd.close()
        XCTAssertEqual(client.tagsInUse, 0)
        XCTAssertFalse(client.isClosed)
        client.close()
    }

    func testAReadLargerThanThePayloadKeepsTreadsInFlight() throws {
        let file = patternBytes(20_000, seed: 9)
        let (c, s) = try StreamTransport.socketPair()
        let server = ClientFakeServer(s)
        let thread = TestThread {
            try server.handshake(accept: 0, msize: 8192)
            try server.answerAttach()
            // All three Treads arrive before any reply; they are answered last first.
            var requests: [ClientFakeServer.Request] = []
            for _ in 0..<3 {
                guard let r = try server.read(), r.type == MessageType.tread.rawValue else { throw P9Error.protocolViolation("expected Tread") }
                requests.append(r)
            }
            for r in requests.reversed() {
                let (offset, count) = Self.tread(r.body)
                try server.raw(try Self.rread(file[offset..<min(file.count, offset + count)], tag: r.tag))
            }
        }
        let client = try Client(transport: c, options: ClientOptions(msize: 8192))
        let root = try client.attach()
        XCTAssertEqual(client.payloadSize, 8168)
        var buffer = [UInt8](repeating: 0, count: 20_000)
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try root.read(into: $0, at: 0) }, 20_000)
        XCTAssertEqual(buffer, file)
        XCTAssertTrue(thread.join())
        XCTAssertNil(thread.error)
        XCTAssertEqual(client.stats.snapshot().count(.tread), 3)
        XCTAssertEqual(client.tagsInUse, 0)
        client.close()
    }

    func testAPipelinedReadStopsAtTheFirstShortTread() throws {
        let file = patternBytes(9_168, seed: 3)  // one full Tread and 1,000 bytes: the second comes back short
        let (c, s) = try StreamTransport.socketPair()
        let server = ClientFakeServer(s)
        let thread = TestThread {
            try server.handshake(accept: 0, msize: 8192)
            try server.answerAttach()
            var requests: [ClientFakeServer.Request] = []
            for _ in 0..<3 {
                guard let r = try server.read() else { return }
                requests.append(r)
            }
            for (i, r) in requests.enumerated() {
                let (offset, count) = Self.tread(r.body)
                // The third, past the end, answers with bytes anyway (a file that grew): they must not count.
                let data = i == 2 ? ArraySlice(patternBytes(count)) : file[min(file.count, offset)..<min(file.count, offset + count)]
                try server.raw(try Self.rread(data, tag: r.tag))
            }
        }
        let client = try Client(transport: c, options: ClientOptions(msize: 8192))
        let root = try client.attach()
        var buffer = [UInt8](repeating: 0, count: 20_000)
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try root.read(into: $0, at: 0) }, file.count)
        XCTAssertEqual(Array(buffer[0..<file.count]), file)
        XCTAssertTrue(thread.join())
        XCTAssertNil(thread.error)
        XCTAssertEqual(client.tagsInUse, 0)
        client.close()
    }
}
