import Glibc

/// Largest iovec count one readv/writev-family call accepts: sysconf(_SC_IOV_MAX), asked once
/// (16, POSIX's minimum _XOPEN_IOV_MAX, if the system gives no answer).
public let iovMax: Int = {
    let n = sysconf(Int32(_SC_IOV_MAX))
    return n > 0 ? n : 16
}()

extension BlockSeq {
    /// Calls `body` with the sequence as iovecs (at most `limit` of them, the first `limit` blocks).
    ///
    /// The iovecs live on the stack for the duration of the call; nothing is allocated on the heap.
    public func withIOVecs<R>(limit: Int = iovMax, _ body: (UnsafeBufferPointer<iovec>) throws -> R) rethrows -> R {
        let n = Swift.min(numBlocks, limit)
        return try withUnsafeTemporaryAllocation(of: iovec.self, capacity: Swift.max(n, 1)) { vecs in
            var i = 0
            var s = self
            while i < n {
                let h = s.head
                vecs[i] = iovec(iov_base: h.base, iov_len: h.count)
                s = s.dropFirst(h.count)
                i += 1
            }
            return try body(UnsafeBufferPointer(rebasing: vecs[0..<n]))
        }
    }
}
