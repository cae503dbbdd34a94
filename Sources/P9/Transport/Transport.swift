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
    /// Stops both directions so blocked callers return at once; the descriptor stays open.
    func shutdown()
    /// Shuts down and releases the descriptor (idempotent).
    func close()
}

extension Transport {
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
