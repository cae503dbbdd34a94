import CShims
import Glibc
import P9
import SystemPackage

/// fallocate(2) of an open file, with the page cache and cached size kept in step.
extension OpenFile {
    /// fallocate(2) with FALLOC_FL_* `mode` bits: the host FD's fallocate, else Tallocate (EOPNOTSUPP on servers
    /// without it, such as diod); dirty pages are written first and the cached size and pages follow the change.
    public func allocate(mode: UInt32, offset: UInt64, length: UInt64) throws(GoferError) {
        guard writable else { throw GoferError(.badFileDescriptor, "fallocate \(path): not open for writing") }
        guard offset <= UInt64(Int64.max), length > 0, length <= UInt64(Int64.max) - offset else {
            throw GoferError(.invalidArgument, "fallocate \(path): bad range \(offset)+\(length)")
        }
        let pages = fs.lock.withLock { dentry.pages }
        try GoferError.mapping("fallocate \(path)") {
            guard let pages else { return try send(mode: mode, offset: offset, length: length) }
            // The page cache's lock across write-back, fallocate and invalidation: no write lands in between.
            try dentry.data.withLock {
                try pages.flush(to: handle)
                try send(mode: mode, offset: offset, length: length)
                let size = allocatedSize(pages.size, mode: mode, offset: offset, length: length)
                if mode & Self.changesBytes != 0 { pages.invalidate(size: size) } else { pages.size = size }
            }
        }
        fs.lock.withLock { dentry.attr.size = allocatedSize(dentry.attr.size, mode: mode, offset: offset, length: length) }
    }

    /// PUNCH_HOLE, COLLAPSE_RANGE, ZERO_RANGE, INSERT_RANGE: modes after which cached bytes are wrong.
    private static let changesBytes: UInt32 = 0x02 | 0x08 | 0x10 | 0x20

    /// The file's size after fallocate: KEEP_SIZE and PUNCH_HOLE keep it, COLLAPSE_RANGE and INSERT_RANGE shift it,
    /// the rest extends it to the range's end.
    private func allocatedSize(_ size: UInt64, mode: UInt32, offset: UInt64, length: UInt64) -> UInt64 {
        if mode & 0x08 != 0 { return size >= length ? size - length : 0 }
        if mode & 0x20 != 0 { return size + length }
        if mode & (0x01 | 0x02) != 0 { return size }
        return max(size, offset + length)
    }

    /// fallocate on the host FD, else Tallocate.
    private func send(mode: UInt32, offset: UInt64, length: UInt64) throws {
        if let fd = handle.hostFD {
            if cshims_fallocate(fd.rawValue, Int32(bitPattern: mode), Int64(offset), Int64(length)) < 0 {
                throw Errno(rawValue: errno)
            }
        } else if let f = handle.file {
            try f.allocate(mode: mode, offset: offset, length: length)
        } else {
            throw Errno.badFileDescriptor
        }
    }
}
