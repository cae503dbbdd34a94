import CShims
import Glibc
import Syscall
import SystemPackage

// The calling process's pid, for process_vm_readv/writev on our own memory.
private let selfPID = getpid()
private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

/// Copies `min(dst.numBytes, src.numBytes)` bytes from `src` to `dst`; returns the bytes copied.
///
/// Blocks flagged `needsSafeCopy` are copied by the kernel (process_vm_readv on our own pid), so
/// memory that faults yields `TransferError` with the partial count instead of killing the process.
public func copySeq(dst: BlockSeq, src: BlockSeq) throws(TransferError) -> Int {
    var dst = dst
    var src = src
    var done = 0
    while !dst.isEmpty && !src.isEmpty {
        let d = dst.head
        let s = src.head
        let n = min(d.count, s.count)
        let copied = try copyBlock(dst: d.takeFirst(n), src: s.takeFirst(n), alreadyDone: done)
        done += copied
        dst = dst.dropFirst(n)
        src = src.dropFirst(n)
    }
    return done
}

/// Copies between two blocks of equal length.
@inline(__always)
private func copyBlock(dst: Block, src: Block, alreadyDone: Int) throws(TransferError) -> Int {
    let n = dst.count
    if !dst.needsSafeCopy && !src.needsSafeCopy {
        dst.base!.copyMemory(from: src.base!, byteCount: n)
        return n
    }
    let copied = kernelCopy(dst: dst.base!, src: UnsafeRawPointer(src.base!), count: n)
    if copied.count < n {
        throw TransferError(bytes: alreadyDone + copied.count, errno: copied.errno ?? .badAddress)
    }
    return n
}

/// Copies through process_vm_readv on our own pid; on a fault, retries page by page to find the exact partial count.
private func kernelCopy(dst: UnsafeMutableRawPointer, src: UnsafeRawPointer, count: Int) -> (count: Int, errno: Errno?) {
    if let r = try? vmCopy(dst: dst, src: src, count: count), r == count { return (count, nil) }
    // Slow path: walk source page boundaries so the count stops exactly at the faulting page.
    var done = 0
    while done < count {
        let addr = Int(bitPattern: src + done)
        let chunk = min(count - done, pageSize - addr % pageSize)
        let r: Int
        do { r = try vmCopy(dst: dst + done, src: src + done, count: chunk) } catch { return (done, error) }
        done += r
        if r < chunk { return (done, .badAddress) }
    }
    return (done, nil)
}

private func vmCopy(dst: UnsafeMutableRawPointer, src: UnsafeRawPointer, count: Int) throws(Errno) -> Int {
    var local = iovec(iov_base: dst, iov_len: count)
    var remote = iovec(iov_base: UnsafeMutableRawPointer(mutating: src), iov_len: count)
    return try retryingOnInterrupt { cshims_process_vm_readv(selfPID, &local, 1, &remote, 1) }
}

/// Zeroes every byte of `dst`; returns the bytes zeroed. Safe-copy blocks are written by the kernel.
public func zeroSeq(_ dst: BlockSeq) throws(TransferError) -> Int {
    var done = 0
    var rest = dst
    while !rest.isEmpty {
        let b = rest.head
        if b.needsSafeCopy {
            // Copy from a zero page, one page at a time at most.
            var off = 0
            while off < b.count {
                let n = min(b.count - off, zeroPage.count)
                let r = kernelCopy(dst: b.base! + off, src: zeroPage.baseAddress!, count: n)
                if r.count < n { throw TransferError(bytes: done + off + r.count, errno: r.errno ?? .badAddress) }
                off += n
            }
        } else {
            b.base!.initializeMemory(as: UInt8.self, repeating: 0, count: b.count)
        }
        done += b.count
        rest = rest.dropFirst(b.count)
    }
    return done
}

// A page of zeros, read-only in practice: the source of safe zeroing.
nonisolated(unsafe) private let zeroPage: UnsafeRawBufferPointer = {
    let p = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
    p.initializeMemory(as: UInt8.self, repeating: 0)
    return UnsafeRawBufferPointer(p)
}()
