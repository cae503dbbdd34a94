import Glibc

/// Largest iovec count one readv/writev-family call accepts (IOV_MAX).
public let iovMax = 1024

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
