import Glibc
import P9
import SafeMem
import SystemPackage

/// An open file description of a `Filesystem` (what open(2) returns).
///
/// `@unchecked Sendable`: the offset and closed flag are guarded by the filesystem's `lock`.
public final class OpenFile: @unchecked Sendable {
    let fs: Filesystem
    let dentry: Dentry
    /// The handle this description reads and writes through (shared with the dentry unless cacheNone).
    public let handle: Handle
    /// Access granted at open.
    public let readable: Bool
    public let writable: Bool
    let append: Bool
    private let ownsHandle: Bool
    private var offset: UInt64 = 0
    private var closed = false

    init(fs: Filesystem, dentry: Dentry, handle: Handle, readable: Bool, writable: Bool, append: Bool, ownsHandle: Bool) {
        self.fs = fs
        self.dentry = dentry
        self.handle = handle
        self.readable = readable
        self.writable = writable
        self.append = append
        self.ownsHandle = ownsHandle
    }

    deinit { if !closed { try? close() } }

    /// Reads at the current offset and advances it.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        fs.lock.lock()
        let at = offset
        fs.lock.unlock()
        let n = try readBlocks(BlockSeq(Block(buffer)), at: at)
        fs.lock.lock()
        offset = at + UInt64(n)
        fs.lock.unlock()
        return n
    }

    /// Writes at the current offset (the end with O_APPEND) and advances it.
    public func write(from buffer: UnsafeRawBufferPointer) throws -> Int {
        fs.lock.lock()
        let at = append ? fs.currentSize(dentry) : offset
        fs.lock.unlock()
        let n = try writeBlocks(BlockSeq(Block(base: UnsafeMutableRawPointer(mutating: buffer.baseAddress), count: buffer.count)), at: at)
        fs.lock.lock()
        offset = at + UInt64(n)
        fs.lock.unlock()
        return n
    }

    /// pread(2).
    public func pread(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        try readBlocks(BlockSeq(Block(buffer)), at: offset)
    }

    /// pwrite(2).
    public func pwrite(from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws -> Int {
        try writeBlocks(BlockSeq(Block(base: UnsafeMutableRawPointer(mutating: buffer.baseAddress), count: buffer.count)), at: offset)
    }

    /// Reads into a BlockSeq at `offset`: host FD, page cache, or 9P, by mode and handle.
    public func readBlocks(_ dsts: BlockSeq, at offset: UInt64) throws -> Int {
        guard readable else { throw Errno.badFileDescriptor }
        if handle.hasHostFD || !fs.options.cachesData {
            return try handle.readToBlocksAt(dsts, offset: offset)
        }
        fs.lock.lock()
        defer { fs.lock.unlock() }
        return try fs.pages(of: dentry).read(into: dsts, offset: offset, handle: handle)
    }

    /// Writes a BlockSeq at `offset`: host FD, page cache (writeback or write-through), or 9P.
    public func writeBlocks(_ srcs: BlockSeq, at offset: UInt64) throws -> Int {
        guard writable else { throw Errno.badFileDescriptor }
        if handle.hasHostFD || !fs.options.cachesData {
            let n = try handle.writeFromBlocksAt(srcs, offset: offset)
            fs.lock.lock()
            fs.grow(dentry, to: offset + UInt64(n))
            fs.lock.unlock()
            return n
        }
        fs.lock.lock()
        defer { fs.lock.unlock() }
        let pages = try fs.pages(of: dentry)
        let n: Int
        if fs.options.mode == .writethrough {
            n = try handle.writeFromBlocksAt(srcs, offset: offset)
            try pages.update(from: srcs, offset: offset, written: n)
        } else {
            n = try pages.write(from: srcs, offset: offset, handle: handle)
        }
        fs.grow(dentry, to: offset + UInt64(n))
        return n
    }

    /// fsync(2): dirty pages and explicit timestamps written back, then the file synced.
    public func fsync() throws {
        fs.lock.lock()
        defer { fs.lock.unlock() }
        try fs.writeBack(dentry)
        try handle.sync()
    }

    /// Current size as this client sees it.
    public func size() -> UInt64 {
        fs.lock.lock()
        defer { fs.lock.unlock() }
        return fs.currentSize(dentry)
    }

    /// close(2): Tflushf for a writable file except in Exclusive; a cacheNone handle is closed.
    public func close() throws {
        fs.lock.lock()
        defer { fs.lock.unlock() }
        guard !closed else { return }
        closed = true
        dentry.openCount -= 1
        var flushError: Error?
        if writable && fs.options.mode != .exclusive && fs.client.supports(.tflushf), let f = handle.file {
            do { try f.flushf() } catch { flushError = error }
        }
        if ownsHandle { handle.close() }
        if let flushError { throw flushError }
    }
}

extension Filesystem {
    /// open(2) with O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND; `mode` for created files.
    public func open(_ path: String, flags: Int32, mode: UInt32 = 0o644) throws -> OpenFile {
        lock.lock()
        defer { lock.unlock() }
        let access = flags & O_ACCMODE
        let read = access == O_RDONLY || access == O_RDWR
        let write = access == O_WRONLY || access == O_RDWR
        let truncate = flags & O_TRUNC != 0 && write
        let append = flags & O_APPEND != 0
        if flags & O_CREAT != 0 {
            let (parentPath, name) = try parentAndName(path)
            let parent = try resolve(components: parentPath)
            guard parent.isDirectory else { throw Errno.notDirectory }
            if let existing = try lookupForCreate(parent, name) {
                if flags & O_EXCL != 0 { throw Errno.fileExists }
                return try openExisting(existing, read: read, write: write, truncate: truncate, append: append, path: path)
            }
            guard mayAccess(parent, [.write, .execute]) else { throw Errno.permissionDenied }
            return try create(in: parent, name: name, read: read, write: write, append: append, mode: mode)
        }
        let components = try pathComponents(path)
        if let opened = try openByWalk(components, read: read, write: write, truncate: truncate, append: append) {
            return opened
        }
        let d = try resolve(components: components)
        return try openExisting(d, read: read, write: write, truncate: truncate, append: append, path: path)
    }

    /// Makes the open description of `d` over a freshly opened `handle`, which the dentry keeps unless cacheNone.
    ///
    /// Dirty pages must have been written through the old handle before the new one was opened (it may truncate).
    func describe(_ d: Dentry, handle h: Handle, read: Bool, write: Bool, truncate: Bool, append: Bool) -> OpenFile {
        var owns = true
        if !options.specialRegularFiles {
            d.handle = h
            owns = false
        }
        if truncate { truncated(d) }
        d.openCount += 1
        return OpenFile(fs: self, dentry: d, handle: h, readable: read, writable: write, append: append, ownsHandle: owns)
    }

    /// True when a writable handle must also read: the page cache fills partly written pages from the server.
    func cacheFillsNeedRead(_ write: Bool) -> Bool { write && options.cachesData }

    /// Writes `d`'s dirty pages through its current handle, before another handle replaces it.
    func flushPages(_ d: Dentry) throws {
        if let pages = d.pages, let old = d.handle { try pages.flush(to: old) }
    }

    /// The existing child for O_CREAT, or nil when it does not exist (a cached negative entry costs no RPC).
    private func lookupForCreate(_ parent: Dentry, _ name: String) throws -> Dentry? {
        do {
            return try step(parent, name)
        } catch where errnoOf(error) == .noSuchFileOrDirectory {
            return nil
        }
    }

    private func openExisting(_ d: Dentry, read: Bool, write: Bool, truncate: Bool, append: Bool, path: String) throws -> OpenFile {
        if d.isDirectory && write { throw Errno.isDirectory }
        var want: Access = []
        if read { want.insert(.read) }
        if write { want.insert(.write) }
        guard mayAccess(d, want) else { throw Errno.permissionDenied }
        if d.isDirectory {
            let h = try Handle.open(try requireFid(d), read: true, write: false, truncate: false, useHostFD: false)
            d.openCount += 1
            return OpenFile(fs: self, dentry: d, handle: h, readable: true, writable: false, append: false, ownsHandle: true)
        }
        if options.specialRegularFiles {
            let h = try openHandle(d, read: read, write: write, truncate: truncate)
            return describe(d, handle: h, read: read, write: write, truncate: truncate, append: append)
        }
        if let h = d.handle, (!read || h.readable), (!write || h.writable) {
            // The handle lives as long as the dentry: no RPC.
            if truncate { try self.truncate(d, size: 0) }
            d.openCount += 1
            return OpenFile(fs: self, dentry: d, handle: h, readable: read, writable: write, append: append, ownsHandle: false)
        }
        // Open (or upgrade to) a handle with both the old and the new access; the old stays with its descriptions.
        let r = read || (d.handle?.readable ?? false) || cacheFillsNeedRead(write)
        let w = write || (d.handle?.writable ?? false)
        try flushPages(d)
        let h: Handle
        do {
            h = try openHandle(d, read: r, write: w, truncate: truncate)
        } catch where errnoOf(error) == .permissionDenied && (r != read || w != write) {
            h = try openHandle(d, read: read, write: write, truncate: truncate)
        }
        return describe(d, handle: h, read: read, write: write, truncate: truncate, append: append)
    }

    /// create: clone + Tucreate (the clone becomes the open handle), then Twalkgetattr for the dentry's own fid.
    private func create(in parent: Dentry, name: String, read: Bool, write: Bool, append: Bool, mode: UInt32) throws -> OpenFile {
        let parentFid = try requireFid(parent)
        let clone = try parentFid.walk([]).file
        let handleReads = read || cacheFillsNeedRead(write)
        var flags: OpenFlags = handleReads && write ? .readWrite : (write ? .writeOnly : .readOnly)
        flags.insert(.exclusive)
        let created: OpenedFile
        do {
            created = try clone.create(name, flags: flags, mode: mode & 0o7777, gid: Frame.noGID, uid: uid)
        } catch {
            try? clone.clunk()
            throw error
        }
        let handle = Handle(file: clone, hostFD: created.hostFD(keeping: options.hostFDs), readable: handleReads, writable: write, multiblock: options.multiblock, copies: copies)
        let r = try parentFid.walkGetAttr([name])
        let d = Dentry(parent: parent, name: name, qid: r.qids.last ?? created.qid, attr: r.attr, fid: r.file)
        insert(d, into: parent)
        parent.listing = nil
        var owns = true
        if !options.specialRegularFiles {
            d.handle = handle
            owns = false
        }
        d.openCount += 1
        return OpenFile(fs: self, dentry: d, handle: handle, readable: read, writable: write, append: append, ownsHandle: owns)
    }

    /// A new handle on `d`: clone of its fid + Tlopen, or, for a fid-less dentry, a walk straight to the handle's own fid.
    private func openHandle(_ d: Dentry, read: Bool, write: Bool, truncate: Bool) throws -> Handle {
        if d.fid == nil {
            return try Handle.open(try walkFromNearestFid(d), read: read, write: write, truncate: truncate,
                                   useHostFD: options.hostFDs, multiblock: options.multiblock, copies: copies, cloned: true)
        }
        return try Handle.open(try requireFid(d), read: read, write: write, truncate: truncate,
                               useHostFD: options.hostFDs, multiblock: options.multiblock, copies: copies)
    }

    func truncated(_ d: Dentry) {
        d.pages?.truncate(to: 0)
        d.attr.size = 0
    }

    /// The page cache of a regular file, created on first use.
    func pages(of d: Dentry) throws -> PageCache {
        if let p = d.pages { return p }
        let p = PageCache(size: d.attr.size, readahead: options.readahead, copies: copies)
        d.pages = p
        return p
    }

    func currentSize(_ d: Dentry) -> UInt64 { d.pages?.size ?? d.attr.size }

    func grow(_ d: Dentry, to end: UInt64) {
        if end > d.attr.size { d.attr.size = end }
    }
}
