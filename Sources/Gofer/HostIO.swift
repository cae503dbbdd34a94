import Glibc
import SafeMem
import Syscall
import SystemPackage

extension FileDescriptor {
    /// Reads into `dsts` from `offset`: pread for one block, preadv for several.
    ///
    /// Splits at IOV_MAX, stops at a short transfer (EOF), retries EINTR. A failure after some bytes
    /// carries the partial count in `GoferError.transferred`.
    public func read(into dsts: BlockSeq, at offset: UInt64) throws(GoferError) -> Int {
        let fd = rawValue
        return try hostTransfer(dsts, offset: offset, "preadv") { seq, off in
            if seq.numBlocks == 1 {
                let b = seq.head
                return Glibc.pread(fd, b.base, b.count, off_t(off))
            }
            return seq.withIOVecs { preadv(fd, $0.baseAddress, Int32($0.count), off_t(off)) }
        }
    }

    /// Writes `srcs` at `offset`: pwrite for one block, pwritev for several.
    ///
    /// Same splitting, short-transfer and EINTR rules as `read(into:at:)`.
    public func write(from srcs: BlockSeq, at offset: UInt64) throws(GoferError) -> Int {
        let fd = rawValue
        return try hostTransfer(srcs, offset: offset, "pwritev") { seq, off in
            if seq.numBlocks == 1 {
                let b = seq.head
                return Glibc.pwrite(fd, b.base, b.count, off_t(off))
            }
            return seq.withIOVecs { pwritev(fd, $0.baseAddress, Int32($0.count), off_t(off)) }
        }
    }
}

/// The loop shared by reads and writes: one syscall per IOV_MAX blocks, until done or short.
@inline(__always)
private func hostTransfer(_ seq: BlockSeq, offset: UInt64, _ name: String,
                          _ call: (BlockSeq, UInt64) -> Int) throws(GoferError) -> Int {
    var rest = seq
    var done = 0
    while !rest.isEmpty {
        // At most IOV_MAX blocks per call; their byte count is what a full transfer moves.
        let chunk = rest.numBlocks > iovMax ? rest.takeFirst(bytesInFirst(iovMax, of: rest)) : rest
        let n: Int
        do {
            n = try retryingOnInterrupt { call(chunk, offset + UInt64(done)) }
        } catch {
            throw GoferError(error, "\(name) at \(offset + UInt64(done)): \(error)\(done > 0 ? " after \(done) bytes" : "")",
                             transferred: done > 0 ? done : nil)
        }
        done += n
        if n < chunk.numBytes { break }  // EOF or a short write: report what moved
        rest = rest.dropFirst(n)
    }
    return done
}

/// Bytes in the first `count` blocks of `seq`.
private func bytesInFirst(_ count: Int, of seq: BlockSeq) -> Int {
    var s = seq
    var total = 0
    for _ in 0..<count where !s.isEmpty {
        let h = s.head.count
        total += h
        s = s.dropFirst(h)
    }
    return total
}
