import CShims
import Glibc
import TestSupport
import XCTest

/// The SCM_RIGHTS shims: a descriptor sent over a socketpair arrives usable on the other end.
final class DescriptorPassingTests: XCTestCase {
    func testDescriptorSentOverSocketpairIsReadable() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("f", Array("hello over SCM_RIGHTS".utf8))
        var sv: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &sv), 0)
        defer { close(sv[0]); close(sv[1]) }
        let fd = open(dir.appending("f"), O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var payload: [UInt8] = [1, 2, 3]
        let sent = payload.withUnsafeMutableBytes { p -> Int in
            var iov = iovec(iov_base: p.baseAddress, iov_len: p.count)
            var fds: [Int32] = [fd]
            return cshims_sendmsg_fds(sv[0], &iov, 1, &fds, 1)
        }
        XCTAssertEqual(sent, 3)
        close(fd)

        var got = [UInt8](repeating: 0, count: 8)
        var fds = [Int32](repeating: -1, count: 4)
        var nfds: Int32 = 0
        let n = got.withUnsafeMutableBytes { p -> Int in
            var iov = iovec(iov_base: p.baseAddress, iov_len: p.count)
            return cshims_recvmsg_fds(sv[1], &iov, 1, &fds, 4, &nfds)
        }
        XCTAssertEqual(n, 3)
        XCTAssertEqual(Array(got[0..<3]), [1, 2, 3])
        XCTAssertEqual(nfds, 1)
        let received = fds[0]
        defer { close(received) }
        XCTAssertEqual(fcntl(received, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC, "MSG_CMSG_CLOEXEC was not applied")
        var buf = [UInt8](repeating: 0, count: 64)
        let r = pread(received, &buf, 64, 0)
        XCTAssertEqual(String(decoding: buf[0..<max(r, 0)], as: UTF8.self), "hello over SCM_RIGHTS")
    }

    func testSurplusDescriptorsAreClosed() throws {
        var sv: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &sv), 0)
        defer { close(sv[0]); close(sv[1]) }
        let before = openDescriptorCount()
        var one: UInt8 = 9
        var three: [Int32] = [dup(0), dup(0), dup(0)]
        XCTAssertEqual(withUnsafeMutableBytes(of: &one) { p -> Int in
            var iov = iovec(iov_base: p.baseAddress, iov_len: 1)
            return cshims_sendmsg_fds(sv[0], &iov, 1, &three, 3)
        }, 1)
        three.forEach { close($0) }
        var fds = [Int32](repeating: -1, count: 1)
        var nfds: Int32 = 0
        var byte: UInt8 = 0
        XCTAssertEqual(withUnsafeMutableBytes(of: &byte) { p -> Int in
            var iov = iovec(iov_base: p.baseAddress, iov_len: 1)
            return cshims_recvmsg_fds(sv[1], &iov, 1, &fds, 1, &nfds)
        }, 1)
        XCTAssertEqual(nfds, 1)
        close(fds[0])
        XCTAssertEqual(openDescriptorCount(), before, "surplus descriptors leaked")
    }
}
