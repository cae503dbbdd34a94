import Foundation
import Glibc
import LocalGofer
import P9
import SystemPackage
import TestSupport
import XCTest

/// A LocalGofer server running in-process over a fresh temporary tree:
/// `export/` is served; `outside/` sits next to it and must never be touched through the server.
final class Harness {
    let tmp: TemporaryDirectory
    let export: String
    let outside: String
    let gofer: LocalGofer
    let server: Server

    init(options: ServerOptions = ServerOptions(workers: 4), gofer goferOptions: LocalGoferOptions = .init()) throws {
        tmp = try TemporaryDirectory(prefix: "localgofer")
        export = tmp.appending("export")
        outside = tmp.appending("outside")
        try tmp.write("export/.keep", [])
        try tmp.write("outside/secret", Array("top secret".utf8))
        gofer = try LocalGofer(root: export, options: goferOptions)
        server = Server(fileServer: gofer, options: options)
    }

    deinit {
        server.stop()
        tmp.remove()
    }

    /// A connected socketpair: one end served by the server, the other returned as a transport.
    func socketpairTransport() throws -> StreamTransport {
        var sv: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0 else {
            throw Errno(rawValue: errno)
        }
        server.serve(fd: sv[0])
        return StreamTransport(fd: sv[1])
    }

    /// A Client over a socketpair.
    func client(_ options: ClientOptions = ClientOptions()) throws -> Client {
        try Client(transport: socketpairTransport(), options: options)
    }

    /// A raw frame connection over a socketpair, for bytes the Client would never send.
    func raw() throws -> RawConnection { RawConnection(try socketpairTransport()) }

    /// Host path inside the export.
    func path(_ name: String) -> String { export + "/" + name }

    /// Whether a host path exists (without following a final symlink).
    func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Names in a host directory.
    func listing(_ path: String) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: path))
    }

    /// The access time and content of outside/secret: a read through the server would change neither the bytes
    /// nor (on a relatime mount, not reliably) atime, so tests compare contents and the directory listing.
    func outsideSnapshot() throws -> (names: Set<String>, secret: [UInt8]) {
        (try listing(outside), try tmp.read("outside/secret"))
    }
}

/// Sends encoded frames and reads whole reply frames.
final class RawConnection {
    let transport: StreamTransport

    init(_ transport: StreamTransport) { self.transport = transport }

    /// Sends raw bytes.
    func send(bytes: [UInt8]) throws {
        // Typed-throws closures here crash the 6.3 compiler (IRGen); carry the error out by hand.
        var failure: (any Error)?
        bytes.withUnsafeBytes { p in
            do { try transport.send(p) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Encodes and sends `message` with `tag`.
    func send<M: Message>(_ message: M, tag: Tag) throws {
        try send(bytes: encode(message, tag: tag))
    }

    /// The bytes of one frame.
    func encode<M: Message>(_ message: M, tag: Tag) throws -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: 65536)
        var result: Result<Int, any Error> = .success(0)
        buf.withUnsafeMutableBytes { p in
            do { result = .success(try Frame.encode(message, tag: tag, into: p, msize: 65536)) } catch { result = .failure(error) }
        }
        return Array(buf[0..<(try result.get())])
    }

    /// Reads one frame; nil when the server closed the connection.
    func receive() throws -> (type: UInt8, tag: Tag, body: [UInt8])? {
        var header = [UInt8](repeating: 0, count: 7)
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        guard try fill(&header, &fds) else { return nil }
        let size = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16 | Int(header[3]) << 24
        var body = [UInt8](repeating: 0, count: size - 7)
        if !body.isEmpty, try !fill(&body, &fds) { throw Errno.connectionReset }
        return (header[4], Tag(rawValue: UInt16(header[5]) | UInt16(header[6]) << 8), body)
    }

    private func fill(_ bytes: inout [UInt8], _ fds: inout [Int32]) throws -> Bool {
        var result: Result<Bool, any Error> = .success(false)
        bytes.withUnsafeMutableBytes { p in
            do { result = .success(try transport.receiveFully(into: p, fds: &fds)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// Sends `message` and returns the reply's type and body, checking the tag.
    func call<M: Message>(_ message: M, tag: Tag = 1) throws -> (type: MessageType?, body: [UInt8]) {
        try send(message, tag: tag)
        guard let r = try receive() else { throw Errno.connectionReset }
        XCTAssertEqual(r.tag, tag)
        return (MessageType(rawValue: r.type), r.body)
    }

    /// The errno of an Rlerror reply, nil for any other reply.
    func callErrno<M: Message>(_ message: M, tag: Tag = 1) throws -> Int32? {
        let r = try call(message, tag: tag)
        guard r.type == .rlerror else { return nil }
        return RawConnection.errno(r.body)
    }

    static func errno(_ body: [UInt8]) -> Int32? {
        guard body.count == 4 else { return nil }
        return Int32(body[0]) | Int32(body[1]) << 8 | Int32(body[2]) << 16 | Int32(body[3]) << 24
    }

    /// Tversion + Tattach on fid 1 (the usual start of a raw session).
    func handshake(version: String = "9P2000.L.Google.13") throws {
        let v = try call(Tversion(msize: 65536, version: version), tag: Tag.none)
        XCTAssertEqual(v.type, .rversion)
        let a = try call(Tattach(fid: 1, uname: "root", aname: "", nUname: 0))
        XCTAssertEqual(a.type, .rattach)
    }
}

/// The errno a client call failed with (nil when it succeeded).
func errnoOf(_ body: () throws -> Void) -> Errno? {
    do {
        try body()
        return nil
    } catch let e as P9Error {
        return e.errno
    } catch let e as Errno {
        return e
    } catch {
        return Errno(rawValue: -1)
    }
}
