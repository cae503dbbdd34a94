import Glibc
import SystemPackage

/// A bound, listening socket of a `Server`.
struct Listener: Sendable {
    let fd: Int32
    /// The address actually bound (a TCP port 0 replaced by the port the kernel chose).
    let address: Address

    var isTCP: Bool { if case .tcp = address { return true } else { return false } }

    /// Binds and listens on `address`; a stale Unix socket file at the path is replaced.
    static func open(_ address: Address) throws -> Listener {
        switch address {
        case let .unix(path): return try openUnix(path)
        case let .tcp(host, port): return try openTCP(host: host, port: port)
        }
    }

    private static func openUnix(_ path: String) throws -> Listener {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let utf8 = Array(path.utf8)
        guard !utf8.isEmpty, utf8.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw Errno.fileNameTooLong }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            p.copyBytes(from: utf8)
            p[utf8.count] = 0
        }
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else { throw Errno.fileExists }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        let r = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0, Glibc.listen(fd, 128) == 0 else {
            let e = Errno(rawValue: errno)
            Glibc.close(fd)
            throw e
        }
        return Listener(fd: fd, address: .unix(path)).nonBlocking()
    }

    private static func openTCP(host: String, port: UInt16) throws -> Listener {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let ai = list else { throw Errno.noSuchFileOrDirectory }
        defer { freeaddrinfo(list) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0, Glibc.listen(fd, 128) == 0 else {
            let e = Errno(rawValue: errno)
            Glibc.close(fd)
            throw e
        }
        let bound = peerOrLocal(fd, peer: false)?.port ?? port
        return Listener(fd: fd, address: .tcp(host: host, port: bound)).nonBlocking()
    }

    /// A peer that resets between poll and accept must not block the accept loop.
    private func nonBlocking() -> Listener {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return self
    }

    /// Removes the socket file of a Unix listener and closes the descriptor.
    func close() {
        Glibc.close(fd)
        if case let .unix(path) = address { unlink(path) }
    }
}

/// The IP address bytes (4 or 16) and port of a TCP socket's peer (or its own local address).
func peerOrLocal(_ fd: Int32, peer: Bool) -> (address: [UInt8], port: UInt16)? {
    var storage = sockaddr_storage()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let r = withUnsafeMutablePointer(to: &storage) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { peer ? getpeername(fd, $0, &len) : getsockname(fd, $0, &len) }
    }
    guard r == 0 else { return nil }
    switch Int32(storage.ss_family) {
    case AF_INET:
        return withUnsafeBytes(of: &storage) { raw in
            let sin = raw.load(as: sockaddr_in.self)
            return (withUnsafeBytes(of: sin.sin_addr) { Array($0) }, UInt16(bigEndian: sin.sin_port))
        }
    case AF_INET6:
        return withUnsafeBytes(of: &storage) { raw in
            let sin6 = raw.load(as: sockaddr_in6.self)
            return (withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }, UInt16(bigEndian: sin6.sin6_port))
        }
    default:
        return nil
    }
}
