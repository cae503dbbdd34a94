import Dispatch
import Glibc
import P9
import SystemPackage
import TestSupport
import XCTest

/// A minimal FileServer whose Treadlink waits for a gate, so a test controls when one request finishes.
/// (Real server, real sockets; only the backend is this small one instead of LocalGofer.)
final class GateFileServer: FileServer {
    let gate = DispatchSemaphore(value: 0)
    let entered = DispatchSemaphore(value: 0)

    func attach(aname: String, uname: String, nUname: UInt32) throws -> any ServerFile { GateFile(server: self) }
}

final class GateFile: ServerFile {
    let server: GateFileServer
    init(server: GateFileServer) { self.server = server }

    func walk(_ names: [String]) throws -> (qids: [QID], file: any ServerFile) {
        guard names.isEmpty else { throw Errno.noSuchFileOrDirectory }
        return ([], GateFile(server: server))
    }

    func getAttr(_ mask: AttrMask) throws -> (qid: QID, valid: AttrMask, attr: Attr) {
        var a = Attr()
        a.mode = 0o040755
        return (QID(type: .directory, path: 1), .basic, a)
    }

    func open(_ flags: OpenFlags, context: RequestContext) throws -> OpenedFile {
        OpenedFile(qid: QID(type: .directory, path: 1), ioUnit: 0, hostFD: nil)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int { throw Errno.isDirectory }

    func readlink() throws -> String {
        server.entered.signal()
        server.gate.wait()
        return "gated"
    }
}

/// One connection's requests run concurrently: a slow request does not hold up the ones behind it.
final class ConcurrencyTests: XCTestCase {
    func testPipelinedRequestsCompleteOutOfOrderAndFlushWaitsForTheRunningOne() throws {
        let backend = GateFileServer()
        let server = Server(fileServer: backend, options: ServerOptions(workers: 2))
        defer { server.stop() }
        var sv: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv), 0)
        server.serve(fd: sv[0])
        let raw = RawConnection(StreamTransport(fd: sv[1]))
        try raw.handshake()

        try raw.send(Treadlink(fid: 1), tag: 10)
        backend.entered.wait()  // tag 10 is now running on a worker
        let quick = try XCTUnwrap(try raw.call(Tgetattr(fid: 1), tag: 11))
        XCTAssertEqual(quick.type, .rgetattr, "tag 11 is answered while tag 10 still runs")

        // Flushing the running request: no Rflush until its reply has gone out.
        try raw.send(Tflush(oldTag: 10), tag: 12)
        XCTAssertEqual(try raw.call(Tstatfs(fid: 1), tag: 13).type, .rlerror, "ENOSYS from the backend, still before Rflush")
        backend.gate.signal()
        let first = try XCTUnwrap(try raw.receive())
        XCTAssertEqual(first.tag, 10)
        XCTAssertEqual(first.type, MessageType.rreadlink.rawValue)
        let second = try XCTUnwrap(try raw.receive())
        XCTAssertEqual(second.tag, 12)
        XCTAssertEqual(second.type, MessageType.rflush.rawValue)

        // Defaults of the protocol: an operation the backend lacks is ENOSYS and the connection stays up.
        XCTAssertEqual(try raw.callErrno(Tmkdir(directoryFid: 1, name: "d", mode: 0o755), tag: 14), ENOSYS)
        XCTAssertEqual(try raw.call(Tgetattr(fid: 1), tag: 15).type, .rgetattr)
    }
}
