import Glibc
import P9
import Syscall
import SystemPackage

/// open(2) and creation by openat2 beneath the donated root: the host descriptor is the handle's, and no fid is made.
extension DirectResolver {
    /// The direct open, or nil for what the server opens: directories, special files, the 9P data path (`hostFDs` off).
    func open(_ components: [String], _ request: OpenRequest, in fs: Filesystem) throws -> OpenFile? {
        guard let host = fs.host, fs.options.hostFDs, !components.isEmpty else { return nil }
        guard fs.options.cachesMetadata else { return try openUncached(components, request, host, fs) }
        if request.create { return try createCached(components, request, host, fs) }
        guard let d = try cached(components, followFinal: true, host, fs) else {
            return try openUncached(components, request, host, fs)
        }
        return try openCached(d, components, request, host, fs)
    }

    /// A cached regular file: its handle when that serves, else a host descriptor with the old and the new access.
    private func openCached(_ d: Dentry, _ components: [String], _ request: OpenRequest, _ host: HostRoot,
                            _ fs: Filesystem) throws -> OpenFile? {
        guard d.attr.isRegular else { return nil }
        if let h = d.handle, let hostFD = h.hostFD, !request.read || h.readable, !request.write || h.writable {
            // The handle lives as long as the dentry: no syscall unless the open truncates.
            if request.truncate {
                _ = try retryingOnInterrupt { ftruncate(hostFD.rawValue, 0) }
                fs.truncated(d)
            }
            d.openCount += 1
            return OpenFile(fs: fs, dentry: d, path: request.path, handle: h, readable: request.read,
                            writable: request.write, append: request.append, ownsHandle: false)
        }
        var read = request.read || (d.handle?.readable ?? false)
        var write = request.write || (d.handle?.writable ?? false)
        let opened: (fd: FileDescriptor, qid: QID, attr: Attr)?
        do {
            do {
                opened = try openRegular(components, flags(read, write, request), 0, HostRoot.beneathNoSymlinks, host)
            } catch let e as Errno where e == .permissionDenied && (read != request.read || write != request.write) {
                (read, write) = (request.read, request.write)
                opened = try openRegular(components, flags(read, write, request), 0, HostRoot.beneathNoSymlinks, host)
            }
        } catch let e as Errno where e == .tooManySymbolicLinkLevels {
            return try openUncached(components, request, host, fs)  // a symlink on the host where the cache has none
        }
        guard let opened else { return nil }
        do { try fs.flushPages(d) } catch { try? opened.fd.close(); throw error }
        d.qid = opened.qid
        d.attr = opened.attr
        return fs.describe(d, handle: handle(opened.fd, read, write, fs), request)
    }

    /// O_CREAT in a cached directory: the new file's dentry is cached with its handle.
    private func createCached(_ components: [String], _ request: OpenRequest, _ host: HostRoot, _ fs: Filesystem) throws -> OpenFile? {
        let name = components[components.count - 1]
        guard let parent = try cached(Array(components.dropLast()), followFinal: true, host, fs) else {
            return try openUncached(components, request, host, fs)
        }
        guard parent.isDirectory else { throw Errno.notDirectory }
        if let existing = parent.children[name] {
            if request.exclusive { throw Errno.fileExists }
            if existing.isSymlink { return try openUncached(components, request, host, fs) }  // O_CREAT follows it
            fs.touch(existing)
            return try openCached(existing, components, request, host, fs)
        }
        let flags = flags(request.read, request.write, request) | O_CREAT | (request.exclusive ? O_EXCL : 0)
        let opened: (fd: FileDescriptor, qid: QID, attr: Attr)?
        do {
            opened = try openRegular(components, flags, request.mode & 0o7777, HostRoot.beneathNoSymlinks, host)
        } catch let e as Errno where e == .tooManySymbolicLinkLevels {
            return try openUncached(components, request, host, fs)
        }
        guard let opened else { return nil }
        let d = Dentry(parent: parent, name: name, qid: opened.qid, attr: opened.attr, fid: nil)
        fs.insert(d, into: parent)
        parent.listing = nil
        return fs.describe(d, handle: handle(opened.fd, request.read, request.write, fs), request)
    }

    /// Shared, or a path through a symlink: the kernel resolves the whole path; nothing is cached and the open file
    /// owns its handle (on a dentry of its own outside the tree).
    func openUncached(_ components: [String], _ request: OpenRequest, _ host: HostRoot, _ fs: Filesystem) throws -> OpenFile? {
        var flags = flags(request.read, request.write, request)
        if request.create { flags |= O_CREAT | (request.exclusive ? O_EXCL : 0) }
        guard let opened = try openRegular(components, flags, request.mode & 0o7777, HostRoot.beneath, host) else { return nil }
        // Created through a symlink: a cached negative entry elsewhere may name the new file.
        if request.create && fs.options.cachesMetadata { try? fs.writeBackAndEvictAll() }
        let d = Dentry(parent: nil, name: components[components.count - 1], qid: opened.qid, attr: opened.attr, fid: nil)
        d.openCount = 1
        return OpenFile(fs: fs, dentry: d, path: request.path, handle: handle(opened.fd, request.read, request.write, fs),
                        readable: request.read, writable: request.write, append: request.append, ownsHandle: true)
    }

    /// openat2 then statx; nil (the descriptor closed) when it is not a regular file, which the server opens instead.
    private func openRegular(_ components: [String], _ flags: Int32, _ mode: UInt32, _ resolve: UInt64,
                             _ host: HostRoot) throws -> (fd: FileDescriptor, qid: QID, attr: Attr)? {
        let fd: FileDescriptor
        do {
            fd = try host.open(host.joined(components), flags, mode: mode, resolve: resolve)
        } catch .noSuchAddressOrDevice {
            return nil  // a FIFO without a reader (O_NONBLOCK): the server's open decides
        }
        let st: (qid: QID, attr: Attr)
        do { st = try HostRoot.stat(fd) } catch { try? fd.close(); throw error }
        guard st.attr.isRegular else {
            try? fd.close()
            return nil
        }
        return (fd, st.qid, st.attr)
    }

    /// Host open flags for the access asked; O_NONBLOCK so that a FIFO never blocks (regular files ignore it).
    private func flags(_ read: Bool, _ write: Bool, _ request: OpenRequest) -> Int32 {
        var f: Int32 = read && write ? O_RDWR : (write ? O_WRONLY : O_RDONLY)
        f |= O_NONBLOCK | O_NOCTTY
        if request.truncate { f |= O_TRUNC }
        return f
    }

    /// A handle over a host descriptor only (no fid), counting into the filesystem's stats.
    private func handle(_ fd: FileDescriptor, _ read: Bool, _ write: Bool, _ fs: Filesystem) -> Handle {
        Handle(file: nil, hostFD: fd, readable: read, writable: write, multiblock: fs.options.multiblock, counters: fs.counters)
    }
}
