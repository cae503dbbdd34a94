import Dispatch
import Foundation
import Glibc
import LocalGofer
import P9
import Synchronization
import SystemPackage
import TestSupport
import XCTest

/// The server's engine: the thread that reads a request runs it, and reading passes to another thread when
/// that request blocks; queued and running requests can be flushed; many callers share one connection.
final class ServerEngineTests: XCTestCase {
    /// A server over `backend` and a raw connection to it, past Tversion and Tattach (fid 1).
    private func connect(_ backend: GateFileServer, _ options: ServerOptions) throws -> (Server, RawConnection) {
        let server = Server(fileServer: backend, options: options)
        var sv: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv), 0)
        server.serve(fd: sv[0])
        let raw = RawConnection(StreamTransport(fd: sv[1]))
        try raw.handshake()
        return (server, raw)
    }

    func testRequestsBehindABlockedOneCompleteOutOfOrder() throws {
        let backend = GateFileServer()
        let (server, raw) = try connect(backend, ServerOptions())
        defer { server.stop() }

        try raw.send(Treadlink(fid: 1), tag: 10)
        backend.entered.wait()  // tag 10 runs, on the thread that read it
        // Twenty requests behind it, all sent before any answer: each is answered while tag 10 still blocks.
        for tag in 11...30 { try raw.send(Tgetattr(fid: 1), tag: Tag(rawValue: UInt16(tag))) }
        var answered = Set<UInt16>()
        for _ in 11...30 {
            let r = try XCTUnwrap(try raw.receive())
            XCTAssertEqual(r.type, MessageType.rgetattr.rawValue)
            answered.insert(r.tag.rawValue)
        }
        XCTAssertEqual(answered, Set(11...30))
        backend.gate.signal()
        let last = try XCTUnwrap(try raw.receive())
        XCTAssertEqual(last.tag, 10, "the blocked request completes last")
        XCTAssertEqual(last.type, MessageType.rreadlink.rawValue)
    }

    func testFlushOfARunningRequestIsAnsweredAfterItsReply() throws {
        let backend = GateFileServer()
        let (server, raw) = try connect(backend, ServerOptions())
        defer { server.stop() }

        try raw.send(Treadlink(fid: 1), tag: 10)
        backend.entered.wait()
        try raw.send(Tflush(oldTag: 10), tag: 11)
        // Still served meanwhile, and no Rflush yet: it waits for tag 10's reply.
        XCTAssertEqual(try raw.call(Tgetattr(fid: 1), tag: 12).type, .rgetattr)
        backend.gate.signal()
        let reply = try XCTUnwrap(try raw.receive())
        XCTAssertEqual(reply.tag, 10)
        XCTAssertEqual(reply.type, MessageType.rreadlink.rawValue, "a running request is not cancelled: it answers")
        let flushed = try XCTUnwrap(try raw.receive())
        XCTAssertEqual(flushed.tag, 11)
        XCTAssertEqual(flushed.type, MessageType.rflush.rawValue)
        XCTAssertEqual(try raw.call(Tgetattr(fid: 1), tag: 13).type, .rgetattr)
    }

    func testFlushOfAQueuedRequestDropsItAndAnswersAtOnce() throws {
        // One request at a time: tag 10 blocks it, a second thread reads, so tag 11 must wait in the queue.
        let backend = GateFileServer()
        let (server, raw) = try connect(backend, ServerOptions(workers: 1))
        defer { server.stop() }

        try raw.send(Treadlink(fid: 1), tag: 10)
        backend.entered.wait()
        try raw.send(Treadlink(fid: 1), tag: 11)
        try raw.send(Tflush(oldTag: 11), tag: 12)
        let flushed = try XCTUnwrap(try raw.receive())
        XCTAssertEqual(flushed.tag, 12, "Rflush comes while tag 10 still blocks: tag 11 never started")
        XCTAssertEqual(flushed.type, MessageType.rflush.rawValue)
        try raw.send(Tgetattr(fid: 1), tag: 13)  // queued behind the blocked request

        backend.gate.signal()
        let first = try XCTUnwrap(try raw.receive())
        XCTAssertEqual(first.tag, 10)
        XCTAssertEqual(first.type, MessageType.rreadlink.rawValue)
        let second = try XCTUnwrap(try raw.receive())
        XCTAssertEqual(second.tag, 13)
        XCTAssertEqual(second.type, MessageType.rgetattr.rawValue)
        // Tag 11 got no reply and never ran: the next reply on the wire is the next call's.
        XCTAssertEqual(try raw.call(Tgetattr(fid: 1), tag: 14).type, .rgetattr)
        XCTAssertEqual(backend.entered.wait(timeout: .now()), .timedOut, "the flushed readlink never entered the backend")
    }

    func testEightThreadsShareOneConnectionWithExactCounts() throws {
        let h = try Harness()
        try h.tmp.write("export/f", patternBytes(100))
        let client = try h.client()
        let root = try client.attach()
        let threads = 8, calls = 2_000
        let files = try (0..<threads).map { _ in try root.walk(["f"]).file }
        let expected = try files[0].getAttr().qid
        let before = client.stats.snapshot()
        let wrong = Atomic<Int>(0)
        let failed = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: threads) { i in
            for _ in 0..<calls {
                do throws(P9Error) {
                    if try files[i].getAttr().qid != expected { wrong.add(1, ordering: .relaxed) }
                } catch {
                    failed.add(1, ordering: .relaxed)
                }
            }
        }
        let done = client.stats.snapshot() - before
        XCTAssertEqual(failed.load(ordering: .relaxed), 0)
        XCTAssertEqual(wrong.load(ordering: .relaxed), 0, "every caller got its own reply")
        XCTAssertEqual(done.count(.tgetattr), threads * calls)
        XCTAssertEqual(done.total, threads * calls, "no other RPC")
        XCTAssertEqual(client.tagsInUse, 0)
        XCTAssertEqual(client.fidsInUse, threads + 1)
        for f in files { try f.clunk() }
        XCTAssertEqual(client.fidsInUse, 1)
        client.close()
    }

    /// Many connections with blocked requests: one thread per connection plus at most `extraThreads` server-wide (and
    /// the stall monitor), however many requests wait; the threads are counted in /proc/self/task.
    func testThreadsStayBoundedWithManyConnectionsAndBlockedRequests() throws {
        let backend = GateFileServer()
        let connections = 12, perConnection = 4, extra = 3
        let server = Server(fileServer: backend, options: ServerOptions(workers: 8, extraThreads: extra))
        defer { server.stop() }
        let before = threadCount()
        var raws: [RawConnection] = []
        for _ in 0..<connections {
            var sv: [Int32] = [-1, -1]
            XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv), 0)
            server.serve(fd: sv[0])
            let raw = RawConnection(StreamTransport(fd: sv[1]))
            try raw.handshake()
            raws.append(raw)
        }
        for raw in raws {
            for tag in 10..<(10 + perConnection) { try raw.send(Treadlink(fid: 1), tag: Tag(rawValue: UInt16(tag))) }
        }
        // Each connection's own thread runs its first readlink; a stalled one hands reading to an extra thread, which
        // runs (and blocks in) the next: exactly `extra` of those server-wide.
        for i in 0..<(connections + extra) {
            XCTAssertEqual(backend.entered.wait(timeout: .now() + 10), .success, "blocked request \(i + 1) did not start")
        }
        XCTAssertEqual(backend.entered.wait(timeout: .now() + 0.3), .timedOut, "more requests ran than threads allowed")
        let during = threadCount()
        XCTAssertLessThanOrEqual(during - before, connections + extra + 1, "threads: \(before) before, \(during) with \(connections) connections")
        XCTAssertGreaterThanOrEqual(during - before, connections, "one thread per connection at least")
        // Every request completes once the gate opens: the queued ones run as threads free up.
        for _ in 0..<(connections * perConnection) { backend.gate.signal() }
        for raw in raws {
            var tags = Set<UInt16>()
            for _ in 0..<perConnection { tags.insert(try XCTUnwrap(try raw.receive()).tag.rawValue) }
            XCTAssertEqual(tags, Set((10..<(10 + perConnection)).map(UInt16.init)))
        }
    }

    /// Threads of this process.
    private func threadCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
    }
}
