import Glibc
import CShims
import Synchronization
import SystemPackage

/// A `Transport` over any connected stream socket (socketpair, Unix path, TCP); owns the descriptor.
public final class StreamTransport: Transport {
    /// The socket descriptor (valid until `close()`).
    public let fd: Int32
    /// True for Unix-domain sockets (detected with SO_DOMAIN).
    public let canCarryFDs: Bool
    private let closed = Atomic<Bool>(false)

    /// Wraps a connected stream socket; the transport closes it on `close()` or deinit.
    public init(fd: Int32) {
        self.fd = fd
        var domain: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        canCarryFDs = getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX
    }

    deinit { close() }

    public func send(_ iov: UnsafeBufferPointer<iovec>, fds: [Int32]) throws(Errno) {
        guard fds.isEmpty || canCarryFDs else { throw .notSupported }
        var total = 0
        for v in iov { total += v.iov_len }
        var n: Int
        if fds.isEmpty && iov.count == 1 {
            // One buffer, nothing beside it: send(2) skips sendmsg's msghdr and iovec copies.
            repeat { n = Glibc.send(fd, iov[0].iov_base, iov[0].iov_len, Int32(MSG_NOSIGNAL)) } while n < 0 && errno == EINTR
        } else {
            n = fds.withUnsafeBufferPointer { f in
                cshims_sendmsg_fds(fd, iov.baseAddress, Int32(iov.count), f.baseAddress, Int32(f.count))
            }
        }
        guard n >= 0 else { throw Errno(rawValue: errno) }
        if n < total { try sendRest(iov, skipping: n, total: total) }
    }

    /// Rare path: a signal or a full buffer cut a sendmsg short; send what is left without descriptors.
    private func sendRest(_ iov: UnsafeBufferPointer<iovec>, skipping sent: Int, total: Int) throws(Errno) {
        var rest = Array(iov)
        var skip = sent
        var index = 0
        var remaining = total - sent
        while remaining > 0 {
            while skip >= rest[index].iov_len { skip -= rest[index].iov_len; index += 1 }
            rest[index].iov_base = rest[index].iov_base.map { $0 + skip }
            rest[index].iov_len -= skip
            let n = rest[index...].withUnsafeBufferPointer { v in
                cshims_sendmsg_fds(fd, v.baseAddress, Int32(v.count), nil, 0)
            }
            guard n >= 0 else { throw Errno(rawValue: errno) }
            remaining -= n
            skip = n
        }
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer, fds: inout [Int32]) throws(Errno) -> Int {
        var v = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
        var got: (Int32, Int32, Int32, Int32) = (-1, -1, -1, -1)
        var nfds: Int32 = 0
        let n = withUnsafeMutableBytes(of: &got) { g in
            cshims_recvmsg_fds(fd, &v, 1, g.baseAddress!.assumingMemoryBound(to: Int32.self), canCarryFDs ? 4 : 0, &nfds)
        }
        guard n >= 0 else { throw Errno(rawValue: errno) }
        if nfds > 0 {
            withUnsafeBytes(of: got) { g in
                for i in 0..<Int(nfds) { fds.append(g.load(fromByteOffset: i * 4, as: Int32.self)) }
            }
        }
        return n
    }

    public func receive(_ iov: UnsafeBufferPointer<iovec>, flags: Int32, fds: UnsafeMutableBufferPointer<Int32>) throws(Errno)
        -> (bytes: Int, fds: Int) {
        var nfds: Int32 = 0
        let n = cshims_recvmsg_flags(fd, iov.baseAddress, Int32(iov.count), fds.baseAddress, canCarryFDs ? Int32(fds.count) : 0,
                                     &nfds, flags)
        guard n >= 0 else { throw Errno(rawValue: errno) }
        return (n, Int(nfds))
    }

    public func setReceiveTimeout(_ timeout: Duration?) {
        let ns = timeout?.nanosecondCount ?? 0
        var tv = timeval(tv_sec: Int(ns / 1_000_000_000), tv_usec: Int(ns % 1_000_000_000) / 1000)
        if ns > 0 && tv.tv_sec == 0 && tv.tv_usec == 0 { tv.tv_usec = 1 }
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Raises SO_SNDBUF and SO_RCVBUF so one message of `bytes` fits in flight (the kernel doubles the value
    /// for its bookkeeping); never lowers them. Beyond net.core.wmem_max/rmem_max only a privileged process
    /// gets more (SO_SNDBUFFORCE/SO_RCVBUFFORCE); otherwise the limit stands.
    public func sizeBuffers(forMessages bytes: Int) {
        let want = Int32(clamping: bytes + (64 << 10))
        for (option, force) in [(SO_SNDBUF, SO_SNDBUFFORCE), (SO_RCVBUF, SO_RCVBUFFORCE)] {
            var current: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, option, &current, &len) == 0, current / 2 < want else { continue }
            var value = want
            if setsockopt(fd, SOL_SOCKET, force, &value, socklen_t(MemoryLayout<Int32>.size)) != 0 {
                _ = setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<Int32>.size))
            }
        }
    }

    public func shutdown() {
        if !closed.load(ordering: .acquiring) { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
    }

    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
        _ = Glibc.close(fd)
    }
}

extension StreamTransport {
    /// A connected pair of Unix stream sockets (both ends can carry descriptors).
    public static func socketPair() throws(Errno) -> (StreamTransport, StreamTransport) {
        var sv: (Int32, Int32) = (-1, -1)
        let r = withUnsafeMutableBytes(of: &sv) { p in
            socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0,
                       p.baseAddress!.assumingMemoryBound(to: Int32.self))
        }
        guard r == 0 else { throw Errno(rawValue: errno) }
        return (StreamTransport(fd: sv.0), StreamTransport(fd: sv.1))
    }

    /// Connects to a Unix-domain stream socket at `path`.
    public static func connect(unixPath path: String) throws(Errno) -> StreamTransport {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let utf8 = Array(path.utf8)
        guard !utf8.isEmpty, utf8.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw .fileNameTooLong }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            p.copyBytes(from: utf8)
            p[utf8.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        let r = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0 else { let e = Errno(rawValue: errno); _ = Glibc.close(fd); throw e }
        return StreamTransport(fd: fd)
    }

    /// Connects over TCP to `host:port` (numeric or resolvable name) with TCP_NODELAY set.
    public static func connect(host: String, port: UInt16) throws(Errno) -> StreamTransport {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let g = getaddrinfo(host, String(port), &hints, &list)
        guard g == 0, let first = list else { throw .noSuchFileOrDirectory }
        defer { freeaddrinfo(list) }
        var lastError = Errno.connectionRefused
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
            if fd < 0 { lastError = Errno(rawValue: errno); continue }
            if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 {
                var one: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return StreamTransport(fd: fd)
            }
            lastError = Errno(rawValue: errno)
            _ = Glibc.close(fd)
        }
        throw lastError
    }
}
