import Glibc
import SystemPackage

/// A connected, reliable byte stream that may carry host file descriptors beside its bytes.
public protocol Transport: AnyObject, Sendable {
    /// Whether descriptors can travel with the bytes (a Unix-domain socket); TCP cannot.
    var canCarryFDs: Bool { get }
    /// Sends every byte of `iov`; `fds` (at most 4) ride on the first bytes. Empty `fds` sends none.
    func send(_ iov: UnsafeBufferPointer<iovec>, fds: [Int32]) throws(Errno)
    /// Receives at least one byte into `buffer` (0 means the peer closed); received descriptors are appended to `fds`.
    func receive(into buffer: UnsafeMutableRawBufferPointer, fds: inout [Int32]) throws(Errno) -> Int
    /// Receives into `iov` with recvmsg `flags` (MSG_WAITALL, MSG_DONTWAIT); descriptors that came with the bytes
    /// fill `fds` from the start (surplus ones are closed). Returns the bytes (0: the peer closed) and descriptors.
    func receive(_ iov: UnsafeBufferPointer<iovec>, flags: Int32, fds: UnsafeMutableBufferPointer<Int32>) throws(Errno)
        -> (bytes: Int, fds: Int)
    /// Makes a blocking receive fail with EAGAIN after `timeout` without data (nil: wait for ever).
    func setReceiveTimeout(_ timeout: Duration?)
    /// Raises the socket's buffers so that one message of `bytes` fits in flight.
    func sizeBuffers(forMessages bytes: Int)
    /// Stops both directions so blocked callers return at once; the descriptor stays open.
    func shutdown()
    /// Shuts down and releases the descriptor (idempotent).
    func close()
}

extension Transport {
    /// Default for transports without recvmsg: the first iovec only, flags ignored.
    public func receive(_ iov: UnsafeBufferPointer<iovec>, flags: Int32, fds: UnsafeMutableBufferPointer<Int32>) throws(Errno)
        -> (bytes: Int, fds: Int) {
        guard let first = iov.first else { return (0, 0) }
        var got: [Int32] = []
        let n = try receive(into: UnsafeMutableRawBufferPointer(start: first.iov_base, count: first.iov_len), fds: &got)
        for (i, fd) in got.enumerated() {
            if i < fds.count { fds[i] = fd } else { _ = Glibc.close(fd) }
        }
        return (n, min(got.count, fds.count))
    }

    /// Default: no timeout.
    public func setReceiveTimeout(_ timeout: Duration?) {}

    /// Default: nothing to size.
    public func sizeBuffers(forMessages bytes: Int) {}

    /// Sends one contiguous buffer.
    public func send(_ bytes: UnsafeRawBufferPointer, fds: [Int32] = []) throws(Errno) {
        var v = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
        try withUnsafePointer(to: &v) { (p) throws(Errno) in
            try send(UnsafeBufferPointer(start: p, count: 1), fds: fds)
        }
    }

    /// Fills `buffer` completely; returns false when the peer closed before the first byte, throws
    /// `Errno.connectionReset` when it closed part-way.
    public func receiveFully(into buffer: UnsafeMutableRawBufferPointer, fds: inout [Int32]) throws(Errno) -> Bool {
        var done = 0
        while done < buffer.count {
            let n = try receive(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), fds: &fds)
            if n == 0 {
                if done == 0 { return false }
                throw .connectionReset
            }
            done += n
        }
        return true
    }
}

extension Duration {
    /// Whole nanoseconds (a negative duration counts as zero).
    var nanosecondCount: UInt64 {
        let (s, a) = components
        guard s >= 0 else { return 0 }
        return UInt64(s) &* 1_000_000_000 &+ UInt64(a / 1_000_000_000)
    }
}

/// Monotonic clock in nanoseconds.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
