import Glibc
import P9
import Syscall
import SystemPackage

/// The file one fid names: an O_PATH descriptor plus, once opened, an open descriptor.
final class LocalFile: ServerFile {
    /// Where this file was reached from; used by remove and rename (the parent's descriptor is the dirfd).
    struct Location {
        var parent: LocalFile?
        var name: String
    }

    /// The open state (Tlopen/Tlcreate); set once, closed at deinit so no in-flight request sees a reused number.
    struct OpenState {
        var fd: FileDescriptor?
        var flags: OpenFlags = []
        var dir: OpaquePointer?
        var dirCookie: UInt64 = 0
    }

    let gofer: LocalGofer
    /// O_PATH|O_NOFOLLOW descriptor of the file itself (never followed if it is a symlink).
    let pathFD: FileDescriptor
    /// S_IFMT bits: a file's type never changes.
    let fileType: mode_t
    let qid: QID
    let device: UInt64
    let location: Locked<Location>
    let state = Locked(OpenState())

    /// Takes ownership of `pathFD`.
    init(gofer: LocalGofer, pathFD: FileDescriptor, stat st: stat, parent: LocalFile?, name: String) {
        self.gofer = gofer
        self.pathFD = pathFD
        fileType = st.st_mode & S_IFMT
        qid = gofer.qid(st)
        device = UInt64(st.st_dev)
        location = Locked(Location(parent: parent, name: name))
    }

    deinit {
        state.withLock { s in
            // closedir closes the open descriptor fdopendir took over.
            if let d = s.dir { closedir(d) } else { try? s.fd?.close() }
        }
        try? pathFD.close()
    }

    var isDirectory: Bool { fileType == S_IFDIR }
    var isSymlink: Bool { fileType == S_IFLNK }

    // MARK: walk and attributes

    /// One step: the O_PATH descriptor of `name` under `dirFD`, and its stat.
    private func step(_ dirFD: FileDescriptor, _ name: String) throws -> (fd: FileDescriptor, stat: stat) {
        let fd = try Host.openPath(dirFD, name)
        do { return (fd, try Host.fstat(fd)) } catch {
            try? fd.close()
            throw error
        }
    }

    /// Walks `names` component by component; returns the QIDs, the new file and its stat.
    private func walkStat(_ names: [String]) throws -> (qids: [QID], file: LocalFile, stat: stat) {
        for n in names { try checkName(n) }
        if names.isEmpty {
            let fd = try pathFD.duplicate()
            let st: stat
            do { st = try Host.fstat(fd) } catch { try? fd.close(); throw error }
            let loc = location.withLock { $0 }
            return ([], LocalFile(gofer: gofer, pathFD: fd, stat: st, parent: loc.parent, name: loc.name), st)
        }
        var qids: [QID] = []
        qids.reserveCapacity(names.count)
        var parent: LocalFile = self
        var currentFD = pathFD
        var current: stat = stat()
        var ownedFD: FileDescriptor?  // a descriptor of an intermediate directory not yet wrapped
        defer { try? ownedFD?.close() }
        for (i, name) in names.enumerated() {
            if i > 0 && !Host.isDirectory(current) { throw Errno.notDirectory }
            let (fd, st) = try step(currentFD, name)
            qids.append(gofer.qid(st))
            if i == names.count - 1 {
                if i > 0, let dirFD = ownedFD {
                    // Keep the second-to-last directory as the parent (its descriptor is the dirfd for remove/rename).
                    parent = LocalFile(gofer: gofer, pathFD: dirFD, stat: current, parent: nil, name: names[i - 1])
                    ownedFD = nil
                }
                return (qids, LocalFile(gofer: gofer, pathFD: fd, stat: st, parent: parent, name: name), st)
            }
            try? ownedFD?.close()
            ownedFD = fd
            currentFD = fd
            current = st
        }
        fatalError("unreachable: names is not empty")
    }

    func walk(_ names: [String]) throws -> (qids: [QID], file: any ServerFile) {
        let (qids, file, _) = try walkStat(names)
        return (qids, file)
    }

    func walkGetAttr(_ names: [String]) throws -> (qids: [QID], file: any ServerFile, valid: AttrMask, attr: Attr) {
        let (qids, file, st) = try walkStat(names)
        return (qids, file, .basic, Host.attr(st))
    }

    func multiGetAttr(_ names: [String]) throws -> [FullStat] {
        var rest = names[...]
        var stats: [FullStat] = []
        if rest.first == "" {
            let st = try Host.fstat(pathFD)
            stats.append(FullStat(qid: gofer.qid(st), valid: .basic, attr: Host.attr(st)))
            rest = rest.dropFirst()
            if !Host.isDirectory(st) { return stats }
        }
        for n in rest { try checkName(n) }
        var currentFD = pathFD
        var owned: FileDescriptor?
        defer { try? owned?.close() }
        for name in rest {
            let fd: FileDescriptor, st: stat
            do { (fd, st) = try step(currentFD, name) } catch let e as Errno where e == .noSuchFileOrDirectory { break }
            try? owned?.close()
            owned = fd
            currentFD = fd
            stats.append(FullStat(qid: gofer.qid(st), valid: .basic, attr: Host.attr(st)))
            if !Host.isDirectory(st) { break }
        }
        return stats
    }

    func getAttr(_ mask: AttrMask) throws -> (qid: QID, valid: AttrMask, attr: Attr) {
        let st = try Host.fstat(pathFD)
        return (gofer.qid(st), .basic, Host.attr(st))
    }

    func setAttr(_ valid: SetAttrMask, _ attr: SetAttr) throws {
        try gofer.checkWritable()
        if valid.contains(.mode) {
            if isSymlink { throw Errno.invalidArgument }
            _ = try Host.check(fchmodat(AT_FDCWD, Host.procPath(pathFD), mode_t(attr.mode & 0o7777), 0))
        }
        if valid.contains(.uid) || valid.contains(.gid) {
            let u = valid.contains(.uid) ? attr.uid : UInt32.max
            let g = valid.contains(.gid) ? attr.gid : UInt32.max
            _ = try Host.check(fchownat(pathFD.rawValue, "", u, g, Host.atEmptyPath | AT_SYMLINK_NOFOLLOW))
        }
        if valid.contains(.size) {
            if isDirectory { throw Errno.isDirectory }
            guard attr.size <= UInt64(Int64.max) else { throw Errno.invalidArgument }
            let open = state.withLock { $0.flags.accessMode != .readOnly ? $0.fd : nil }
            if let open {
                _ = try retryingOnInterrupt { ftruncate(open.rawValue, off_t(attr.size)) }
            } else {
                _ = try retryingOnInterrupt { truncate(Host.procPath(pathFD), off_t(attr.size)) }
            }
        }
        if valid.contains(.atime) || valid.contains(.mtime) {
            func spec(_ set: Bool, _ given: Bool, _ t: Timespec) -> timespec {
                guard set else { return timespec(tv_sec: 0, tv_nsec: Host.utimeOmit) }
                guard given else { return timespec(tv_sec: 0, tv_nsec: Host.utimeNow) }
                return timespec(tv_sec: Int(truncatingIfNeeded: t.sec), tv_nsec: Int(truncatingIfNeeded: t.nsec))
            }
            var times = (spec(valid.contains(.atime), valid.contains(.atimeSet), attr.atime),
                         spec(valid.contains(.mtime), valid.contains(.mtimeSet), attr.mtime))
            try withUnsafePointer(to: &times) { p in
                try p.withMemoryRebound(to: timespec.self, capacity: 2) { ts in
                    if isSymlink {
                        let loc = location.withLock { $0 }
                        guard let parent = loc.parent else { throw Errno.invalidArgument }
                        _ = try Host.check(utimensat(parent.pathFD.rawValue, loc.name, ts, AT_SYMLINK_NOFOLLOW))
                    } else {
                        _ = try Host.check(utimensat(AT_FDCWD, Host.procPath(pathFD), ts, 0))
                    }
                }
            }
        } else if valid.contains(.ctime) {
            // A chown to (-1, -1) changes nothing but ctime.
            _ = try Host.check(fchownat(pathFD.rawValue, "", UInt32.max, UInt32.max, Host.atEmptyPath | AT_SYMLINK_NOFOLLOW))
        }
    }

    func statFS() throws -> StatFS {
        var s = statvfs()
        _ = try Host.check(fstatvfs(pathFD.rawValue, &s))
        // statvfs has no f_type; report V9FS_MAGIC as diod does.
        return StatFS(type: 0x0102_1997, blockSize: UInt32(truncatingIfNeeded: s.f_bsize), blocks: UInt64(s.f_blocks),
                      blocksFree: UInt64(s.f_bfree), blocksAvailable: UInt64(s.f_bavail), files: UInt64(s.f_files),
                      filesFree: UInt64(s.f_ffree), fsID: UInt64(s.f_fsid), nameLength: UInt32(truncatingIfNeeded: s.f_namemax))
    }

    func readlink() throws -> String {
        guard isSymlink else { throw Errno.invalidArgument }
        return try Host.readlink(pathFD)
    }
}
