import Glibc
import LocalGofer
import P9
import SystemPackage
import TestSupport
import XCTest

/// TCP listeners accept loopback peers only, unless `allow` widens them.
final class AllowTests: XCTestCase {
    /// This host's first non-loopback IPv4 address (a peer that is not loopback when we connect to it).
    private func externalIPv4() throws -> String {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { throw Errno(rawValue: errno) }
        defer { freeifaddrs(list) }
        var cursor = list
        while let ifa = cursor {
            cursor = ifa.pointee.ifa_next
            guard let sa = ifa.pointee.ifa_addr, Int32(sa.pointee.sa_family) == AF_INET else { continue }
            var sin = sockaddr_in()
            memcpy(&sin, sa, MemoryLayout<sockaddr_in>.size)
            var buf = [CChar](repeating: 0, count: 64)
            inet_ntop(AF_INET, &sin.sin_addr, &buf, 64)
            let text = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !text.hasPrefix("127.") { return text }
        }
        throw XCTSkip("no non-loopback IPv4 address on this host to connect from")
    }

    private func attachOver(host: String, port: UInt16) -> Bool {
        guard let t = try? StreamTransport.connect(host: host, port: port),
              let c = try? Client(transport: t) else { return false }
        defer { c.close() }
        return (try? c.attach()) != nil
    }

    func testNonLoopbackPeerIsRefusedByDefault() throws {
        let ip = try externalIPv4()
        let h = try Harness()
        guard case let .tcp(_, port) = try h.server.listen(.tcp(host: "0.0.0.0", port: 0)) else { return XCTFail() }
        h.server.start()
        XCTAssertTrue(attachOver(host: "127.0.0.1", port: port), "loopback is always accepted")
        XCTAssertFalse(attachOver(host: ip, port: port), "a peer at \(ip) is not loopback")
    }

    func testAllowWidensTheAcceptedPeers() throws {
        let ip = try externalIPv4()
        let h = try Harness(options: ServerOptions(workers: 2, allow: [CIDR(ip + "/32")!]))
        guard case let .tcp(_, port) = try h.server.listen(.tcp(host: "0.0.0.0", port: 0)) else { return XCTFail() }
        h.server.start()
        XCTAssertTrue(attachOver(host: ip, port: port))
    }
}
