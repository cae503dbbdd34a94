import Foundation
import P9
import Synchronization
import SystemPackage
import TestSupport
import XCTest
import Glibc

final class ClientDisconnectTests: XCTestCase {
    /// A connected client and the fake server, attached; the server thread runs `script` after the attach.
    private func connect(accept: UInt32 = 0, script: @escaping @Sendable (ClientFakeServer) throws -> Void)
        throws -> (Client, ClientFile, TestThread) {
        let (c, s) = try StreamTransport.socketPair()
        let server = ClientFakeServer(s)
        let thread = TestThread {
            try server.handshake(accept: accept)
            try server.answerAttach()
            try script(server)
        }
        let client = try Client(transport: c)
        let root = try client.attach(aname: "/")
        return (client, root, thread)
    }

    func testPeerClosingFailsEveryCallInFlightAndLaterCalls() throws {
        let callers = 4
        let (client, root, server) = try connect { server in
            for _ in 0..<callers { _ = try server.read() }
            server.transport.close()
        }
        let errors = Locked<[P9Error]>([])
        let threads = (0..<callers).map { _ in
            TestThread {
                do throws(P9Error) { _ = try root.getAttr() } catch { errors.withLock { $0.append(error) } }
            }
        }
        for t in threads { XCTAssertTrue(t.join(timeout: 10), "a call hung after the peer closed") }
        XCTAssertTrue(server.join(timeout: 10))
        XCTAssertNil(server.error)
        let got = errors.withLock { $0 }
        XCTAssertEqual(got.count, callers, "every call in flight must fail")
        for e in got {
            guard case .connectionClosed = e else { return XCTFail("expected connectionClosed, got \(e)") }
        }
        XCTAssertTrue(client.isClosed)
        XCTAssertThrowsError(try root.getAttr()) { error in
            guard case .connectionClosed = error as? P9Error else { return XCTFail("got \(error)") }
        }
        XCTAssertEqual(client.tagsInUse, 0)
        client.close()
    }

    func testCloseFailsCallsInFlight() throws {
        let callers = 3
        let received = Atomic<Int>(0)
        let (client, root, server) = try connect { server in
            for _ in 0..<callers {
                _ = try server.read()
                received.add(1, ordering: .relaxed)
            }
            _ = try server.read()  // never answers; EOF when the client closes
        }
        let errors = Locked<[P9Error]>([])
        let threads = (0..<callers).map { _ in
            TestThread {
                do throws(P9Error) { _ = try root.getAttr() } catch { errors.withLock { $0.append(error) } }
            }
        }
        XCTAssertTrue(waitUntil { received.load(ordering: .relaxed) == callers })
        client.close()
        for t in threads { XCTAssertTrue(t.join(timeout: 10), "a call hung after close()") }
        XCTAssertEqual(errors.withLock { $0 }, Array(repeating: .connectionClosed("closed by the client"), count: callers))
        XCTAssertTrue(server.join())
        XCTAssertEqual(client.tagsInUse, 0)
    }

    func testWrongReplyTypeFailsTheConnection() throws {
        let (client, root, server) = try connect { server in
            guard let r = try server.read() else { return }
            try server.reply(Rclunk(), tag: r.tag)
            _ = try server.read()  // EOF once the client has closed
        }
        XCTAssertThrowsError(try root.getAttr()) { error in
            guard case .protocolViolation = error as? P9Error else { return XCTFail("got \(error)") }
        }
        XCTAssertTrue(client.isClosed)
        XCTAssertThrowsError(try root.getAttr())
        client.close()
        XCTAssertTrue(server.join())
        XCTAssertEqual(client.tagsInUse, 0)
    }

    func testMalformedReplyFailsTheConnection() throws {
        let (client, root, server) = try connect { server in
            guard let r = try server.read() else { return }
            // An Rgetattr whose body is 10 bytes instead of 153.
            var frame: [UInt8] = [17, 0, 0, 0, MessageType.rgetattr.rawValue, UInt8(r.tag.rawValue & 0xFF), UInt8(r.tag.rawValue >> 8)]
            frame += [UInt8](repeating: 0, count: 10)
            try server.raw(frame)
            _ = try server.read()
        }
        XCTAssertThrowsError(try root.getAttr())
        XCTAssertTrue(client.isClosed)
        client.close()
        XCTAssertTrue(server.join())
    }

    func testReplyForUnknownTagFailsTheConnection() throws {
        let (client, root, server) = try connect { server in
            guard let r = try server.read() else { return }
            try server.reply(Rgetattr(valid: .all, qid: QID(path: 1), attr: Attr()), tag: Tag(rawValue: r.tag.rawValue &+ 77))
            _ = try server.read()
        }
        XCTAssertThrowsError(try root.getAttr()) { error in
            guard case .protocolViolation = error as? P9Error else { return XCTFail("got \(error)") }
        }
        client.close()
        XCTAssertTrue(server.join())
    }

    func testHostFDArrivesWithRlopen() throws {
        var p: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&p), 0)
        let (readEnd, writeEnd) = (p[0], p[1])
        let (client, root, server) = try connect(accept: 13) { server in
            guard let r = try server.read() else { return }
            try server.reply(Rlopen(qid: QID(path: 9), ioUnit: 0), tag: r.tag, fds: [readEnd])
            close(readEnd)
            guard let g = try server.read() else { return }
            try server.reply(Rgetattr(valid: .all, qid: QID(path: 1), attr: Attr()), tag: g.tag)
        }
        XCTAssertEqual(client.version, 13)
        XCTAssertEqual(client.supports(.tmultigetattr), true)
        let opened = try root.open(.readOnly)
        XCTAssertEqual(opened.qid.path, 9)
        let fd = try XCTUnwrap(opened.hostFD).rawValue
        XCTAssertEqual(write(writeEnd, "hi", 2), 2)
        var two = [UInt8](repeating: 0, count: 2)
        XCTAssertEqual(Glibc.read(fd, &two, 2), 2)
        XCTAssertEqual(two, Array("hi".utf8))
        close(fd)
        close(writeEnd)
        // A reply without a descriptor does not hand one out.
        XCTAssertEqual(try root.getAttr().qid.path, 1)
        XCTAssertTrue(server.join())
        XCTAssertNil(server.error)
        client.close()
    }

    func testVersionStepsDownOnEAGAINAndUsesTheSmallerMsize() throws {
        let (c, s) = try StreamTransport.socketPair()
        let server = ClientFakeServer(s)
        let offered = Locked<[String]>([])
        let thread = TestThread {
            let o = try server.handshake(accept: 11, msize: 8192)
            offered.withLock { $0 = o }
        }
        let client = try Client(transport: c, options: ClientOptions(msize: 1 << 20))
        XCTAssertTrue(thread.join())
        XCTAssertEqual(offered.withLock { $0 }, ["9P2000.L.Google.13", "9P2000.L.Google.12", "9P2000.L.Google.11"])
        XCTAssertEqual(client.version, 11)
        XCTAssertEqual(client.versionString, "9P2000.L.Google.11")
        XCTAssertEqual(client.msize, 8192)
        XCTAssertEqual(client.payloadSize, 8192 - 24)
        XCTAssertTrue(client.supports(.tlistxattr))
        XCTAssertFalse(client.supports(.tsetattrclunk))
        XCTAssertFalse(client.supports(.tbind))
        XCTAssertEqual(client.stats.snapshot().count(.tversion), 3)
        client.close()
    }

    func testMsizeAboveOneMiBFallsBackWhenAGVisorServerRefusesIt() throws {
        let (c, s) = try StreamTransport.socketPair()
        let server = ClientFakeServer(s)
        let offered = Locked<[String]>([])
        let thread = TestThread {
            let o = try server.handshake(accept: 13, msize: 1 << 20, refuseOver1MiB: true)
            offered.withLock { $0 = o }
        }
        let client = try Client(transport: c, options: ClientOptions(msize: (1 << 20) + 4096))
        XCTAssertTrue(thread.join())
        XCTAssertEqual(offered.withLock { $0 }, ["9P2000.L.Google.13 msize 1052672", "9P2000.L.Google.13"])
        XCTAssertEqual(client.msize, 1 << 20)
        XCTAssertEqual(client.version, 13)
        client.close()
    }
}
