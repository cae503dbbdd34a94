import Glibc
import LocalGofer
import P9
import SystemPackage
import TestSupport
import XCTest

/// Tdonateroot: an O_PATH descriptor of the attached directory, donated only where the client could not write
/// through it on a read-only export, and only over a transport that carries descriptors.
final class DonateRootTests: XCTestCase {
    private let oPath: Int32 = 0o10000000

    /// (device, inode) of a host path or descriptor.
    private func identity(_ path: String) -> (UInt64, UInt64) {
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0, path)
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    private func identity(_ fd: FileDescriptor) -> (UInt64, UInt64) {
        var st = stat()
        XCTAssertEqual(fstat(fd.rawValue, &st), 0)
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    func testTheDonatedRootIsAnOPathDescriptorOfTheAttachedDirectory() throws {
        let h = try Harness()
        try h.tmp.write("export/sub/file", Array("inside".utf8))
        let client = try h.client()
        let root = try client.attach()
        let (qid, donated) = try root.donateRoot()
        let fd = try XCTUnwrap(donated, "a Unix socket carries the descriptor")
        defer { try? fd.close() }
        XCTAssertTrue(qid.type.contains(.directory))
        XCTAssertTrue(identity(fd) == identity(h.export), "the export's root directory")
        let flags = fcntl(fd.rawValue, F_GETFL)
        XCTAssertEqual(flags & oPath, oPath, "O_PATH: it can name files beneath, not read or write itself")
        XCTAssertNotEqual(fcntl(fd.rawValue, F_GETFD) & FD_CLOEXEC, 0, "received close-on-exec")
        // The fid is untouched: it still walks.
        XCTAssertEqual(try root.walkGetAttr(["sub", "file"]).attr.size, 6)
        let stats = client.stats.snapshot()
        XCTAssertEqual(stats.count(.tdonateroot), 1)

        // An attach below the root donates that directory.
        let sub = try client.attach(aname: "sub")
        let subFD = try XCTUnwrap(try sub.donateRoot().hostFD)
        defer { try? subFD.close() }
        XCTAssertTrue(identity(subFD) == identity(h.path("sub")))
        client.close()
    }

    func testAFileFidIsRefusedWithENOTDIR() throws {
        let h = try Harness()
        try h.tmp.write("export/file", [1])
        let client = try h.client()
        let (_, file) = try client.attach().walk(["file"])
        XCTAssertEqual(errnoOf { _ = try file.donateRoot() }, .notDirectory)
        client.close()
    }

    func testAReadOnlyExportDonatesNothing() throws {
        for (server, gofer) in [(ServerOptions(workers: 2, readOnly: true), LocalGoferOptions()),
                                (ServerOptions(workers: 2), LocalGoferOptions(readOnly: true))] {
            let h = try Harness(options: server, gofer: gofer)
            let client = try h.client()
            let root = try client.attach()
            let before = openDescriptorCount()  // client and server are in this process: a descriptor made by either shows
            XCTAssertEqual(errnoOf { _ = try root.donateRoot() }, .readOnlyFileSystem, "server \(server.readOnly) gofer \(gofer.readOnly)")
            XCTAssertEqual(openDescriptorCount(), before, "no descriptor opened or received")
            // The connection goes on: the refusal is an Rlerror.
            XCTAssertEqual(try root.walkGetAttr([".keep"]).attr.size, 0)
            client.close()
        }
    }

    func testNoDonationWithoutDescriptorPassing() throws {
        // Donation switched off on a Unix socket.
        let off = try Harness(options: ServerOptions(workers: 2, donateFDs: false))
        let client = try off.client()
        XCTAssertEqual(errnoOf { _ = try client.attach().donateRoot() }, .notSupported)
        client.close()
        // TCP never carries descriptors.
        let h = try Harness()
        guard case let .tcp(_, port) = try h.server.listen(.tcp(host: "127.0.0.1", port: 0)) else { return XCTFail() }
        h.server.start()
        let tcp = try Client(transport: try StreamTransport.connect(host: "127.0.0.1", port: port))
        XCTAssertEqual(errnoOf { _ = try tcp.attach().donateRoot() }, .notSupported)
        tcp.close()
    }

    func testAPlainConnectionNeverSendsIt() throws {
        let h = try Harness()
        let client = try h.client(ClientOptions(maxVersion: 0))
        let root = try client.attach()
        XCTAssertEqual(errnoOf { _ = try root.donateRoot() }, .notSupported)
        XCTAssertEqual(client.stats.snapshot().count(.tdonateroot), 0, "refused before sending: diod would close the connection")
        client.close()
    }

    func testARawPlainSessionGetsTheAnswerAnyOtherSessionGets() throws {
        // The server does not gate by version (PROTOCOL §4.1): it answers Tdonateroot on any session.
        let h = try Harness()
        let raw = try h.raw()
        try raw.handshake(version: "9P2000.L")
        let r = try raw.call(Tdonateroot(fid: 1), tag: 2)
        XCTAssertEqual(r.type, .rdonateroot)
        XCTAssertEqual(try raw.callErrno(Tdonateroot(fid: 99), tag: 3), EBADF)
    }
}
