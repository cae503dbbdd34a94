import Glibc
import P9
import SystemPackage

/// What an open(2) asks for, decoded from its flags once.
struct OpenRequest {
    /// The path as the caller gave it.
    var path: String
    /// Access asked for (O_RDONLY, O_WRONLY, O_RDWR).
    var read: Bool
    var write: Bool
    /// O_TRUNC on a writable open.
    var truncate: Bool
    /// O_APPEND: every write goes to the end.
    var append: Bool
    /// O_CREAT and O_EXCL.
    var create: Bool
    var exclusive: Bool
    /// Permission bits of a created file.
    var mode: UInt32

    init(path: String, flags: Int32, mode: UInt32) {
        self.path = path
        let access = flags & O_ACCMODE
        read = access == O_RDONLY || access == O_RDWR
        write = access == O_WRONLY || access == O_RDWR
        truncate = flags & O_TRUNC != 0 && write
        append = flags & O_APPEND != 0
        create = flags & O_CREAT != 0
        exclusive = flags & O_EXCL != 0
        self.mode = mode
    }

    /// The permission bits the access asked for needs.
    var access: Access {
        var want: Access = []
        if read { want.insert(.read) }
        if write { want.insert(.write) }
        return want
    }
}

extension Filesystem {
    /// open(2) with O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND; `mode` for created files.
    public func open(_ path: String, flags: Int32, mode: UInt32 = 0o644) throws(GoferError) -> OpenFile {
        try pathOp("open \(path)") { try open(OpenRequest(path: path, flags: flags, mode: mode)) }
    }

    /// open(2) with `tree` shared and `lock` held.
    private func open(_ request: OpenRequest) throws -> OpenFile {
        let path = request.path
        let components = try pathComponents(path)
        if let opened = try resolver.open(components, request, in: self) { return opened }
        if request.create {
            let (parentPath, name) = try parentAndName(path)
            let parent = try resolve(components: parentPath)
            guard parent.isDirectory else { throw Errno.notDirectory }
            if let existing = try lookupForCreate(parent, name) {
                if request.exclusive { throw Errno.fileExists }
                return try openExisting(existing, request)
            }
            guard mayAccess(parent, [.write, .execute]) else { throw Errno.permissionDenied }
            return try create(name, in: parent, request)
        }
        return try openExisting(try resolve(components: components), request)
    }

    /// Makes the open description of `d` over a freshly opened `handle`, which the dentry keeps unless cacheNone.
    ///
    /// Dirty pages must have been written through the old handle before the new one was opened (it may truncate).
    func describe(_ d: Dentry, handle h: Handle, _ request: OpenRequest) -> OpenFile {
        var owns = true
        if !options.specialRegularFiles {
            d.handle = h
            owns = false
        }
        if request.truncate { truncated(d) }
        d.openCount += 1
        return OpenFile(fs: self, dentry: d, path: request.path, handle: h, readable: request.read, writable: request.write,
                        append: request.append, ownsHandle: owns)
    }

    /// True when a writable handle must also read: the page cache fills partly written pages from the server.
    func cacheFillsNeedRead(_ write: Bool) -> Bool { write && options.cachesData }

    /// Writes `d`'s dirty pages through its current handle, before another handle replaces it.
    func flushPages(_ d: Dentry) throws {
        if let pages = d.pages, let old = d.handle { try rpc(d) { try d.data.withLock { try pages.flush(to: old) } } }
    }

    /// The existing child for O_CREAT, or nil when it does not exist (a cached negative entry costs no RPC).
    private func lookupForCreate(_ parent: Dentry, _ name: String) throws -> Dentry? {
        do {
            return try resolver.child(name, of: parent, in: self)
        } catch where GoferError.errno(of: error) == .noSuchFileOrDirectory {
            return nil
        }
    }

    private func openExisting(_ d: Dentry, _ request: OpenRequest) throws -> OpenFile {
        let read = request.read, write = request.write, truncate = request.truncate
        if d.isDirectory && write { throw Errno.isDirectory }
        guard mayAccess(d, request.access) else { throw Errno.permissionDenied }
        if d.isDirectory {
            let f = try fid(of: d)
            let h = try rpc(d) { try Handle.open(f, read: true, write: false, truncate: false, useHostFD: false) }
            d.openCount += 1
            return OpenFile(fs: self, dentry: d, path: request.path, handle: h, readable: true, writable: false, append: false, ownsHandle: true)
        }
        if options.specialRegularFiles {
            return describe(d, handle: try openHandle(d, read: read, write: write, truncate: truncate), request)
        }
        if let h = d.handle, (!read || h.readable), (!write || h.writable) {
            // The handle lives as long as the dentry: no RPC.
            if truncate { try self.truncate(d, size: 0) }
            d.openCount += 1
            return OpenFile(fs: self, dentry: d, path: request.path, handle: h, readable: read, writable: write, append: request.append,
                            ownsHandle: false)
        }
        // Open (or upgrade to) a handle with both the old and the new access; the old stays with its descriptions.
        let r = read || (d.handle?.readable ?? false) || cacheFillsNeedRead(write)
        let w = write || (d.handle?.writable ?? false)
        try flushPages(d)
        let h: Handle
        do {
            h = try openHandle(d, read: r, write: w, truncate: truncate)
        } catch where GoferError.errno(of: error) == .permissionDenied && (r != read || w != write) {
            h = try openHandle(d, read: read, write: write, truncate: truncate)
        }
        return describe(d, handle: h, request)
    }

    /// create: clone + Tucreate (the clone becomes the open handle), then Twalkgetattr for the dentry's own fid.
    private func create(_ name: String, in parent: Dentry, _ request: OpenRequest) throws -> OpenFile {
        let parentFid = try fid(of: parent)
        let read = request.read || cacheFillsNeedRead(request.write)
        let (handle, qid, r) = try rpc(parent) {
            let (handle, qid) = try Handle.create(name, in: parentFid, read: read, write: request.write, mode: request.mode & 0o7777,
                                                  uid: uid, useHostFD: options.hostFDs, multiblock: options.multiblock, counters: counters)
            return (handle, qid, try parentFid.walkGetAttr([name]))
        }
        let d = Dentry(parent: parent, name: name, qid: r.qids.last ?? qid, attr: r.attr, fid: r.file)
        insert(d, into: parent)
        parent.listing = nil
        var owns = true
        if !options.specialRegularFiles {
            d.handle = handle
            owns = false
        }
        d.openCount += 1
        return OpenFile(fs: self, dentry: d, path: request.path, handle: handle, readable: request.read, writable: request.write,
                        append: request.append, ownsHandle: owns)
    }

    /// A new handle on `d`: clone of its fid + Tlopen, or, for a fid-less dentry, a walk straight to the handle's own fid.
    private func openHandle(_ d: Dentry, read: Bool, write: Bool, truncate: Bool) throws -> Handle {
        if d.fid == nil {
            let walked = try walkFromNearestFid(d)
            return try rpc(d) {
                try Handle.open(walked, read: read, write: write, truncate: truncate, useHostFD: options.hostFDs,
                                multiblock: options.multiblock, cloned: true, counters: counters)
            }
        }
        let f = try fid(of: d)
        return try rpc(d) {
            try Handle.open(f, read: read, write: write, truncate: truncate, useHostFD: options.hostFDs,
                            multiblock: options.multiblock, counters: counters)
        }
    }

    func truncated(_ d: Dentry) {
        if let pages = d.pages { d.data.withLock { pages.truncate(to: 0) } }
        d.attr.size = 0
    }

    /// The page cache of a regular file, created on first use.
    func pages(of d: Dentry) throws -> PageCache {
        if let p = d.pages { return p }
        let p = PageCache(size: d.attr.size, readahead: options.readahead, counters: counters)
        d.pages = p
        return p
    }

    func currentSize(_ d: Dentry) -> UInt64 {
        guard let pages = d.pages else { return d.attr.size }
        return d.data.withLock { pages.size }
    }

    func grow(_ d: Dentry, to end: UInt64) {
        if end > d.attr.size { d.attr.size = end }
    }
}
