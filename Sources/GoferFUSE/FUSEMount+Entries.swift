import CFuse3
import Glibc
import Gofer
import P9

/// Names: lookup, attributes, and the operations that add, remove or move them.
extension FUSEMount {
    /// A FileStat as the kernel's struct stat.
    static func hostStat(_ s: FileStat) -> stat {
        var st = stat()
        st.st_ino = UInt(s.ino)
        st.st_mode = s.mode
        st.st_nlink = UInt(s.nlink)
        st.st_uid = s.uid
        st.st_gid = s.gid
        st.st_rdev = UInt(s.rdev)
        st.st_size = Int(truncatingIfNeeded: s.size)
        st.st_blksize = Int(truncatingIfNeeded: s.blksize)
        st.st_blocks = Int(truncatingIfNeeded: s.blocks)
        st.st_atim = timespec(tv_sec: Int(truncatingIfNeeded: s.atime.sec), tv_nsec: Int(truncatingIfNeeded: s.atime.nsec))
        st.st_mtim = timespec(tv_sec: Int(truncatingIfNeeded: s.mtime.sec), tv_nsec: Int(truncatingIfNeeded: s.mtime.nsec))
        st.st_ctim = timespec(tv_sec: Int(truncatingIfNeeded: s.ctime.sec), tv_nsec: Int(truncatingIfNeeded: s.ctime.nsec))
        return st
    }

    /// The entry the kernel gets for `name` in `parent`, counted as one lookup of its node.
    func entry(_ name: String, in parent: fuse_ino_t, _ s: FileStat) -> fuse_entry_param {
        var e = fuse_entry_param()
        e.ino = nodes.found(name, in: parent, ino: s.ino, isDirectory: s.isDirectory)
        e.generation = 1
        e.attr = Self.hostStat(s)
        e.attr_timeout = caching.attrTimeout
        e.entry_timeout = caching.entryTimeout
        return e
    }

    /// Replies with the entry of `path` (just made as `name` in `parent`).
    func replyEntry(_ req: fuse_req_t?, _ name: String, in parent: fuse_ino_t, path: String) throws(GoferError) {
        var e = entry(name, in: parent, try filesystem.lstat(path))
        fuse_reply_entry(req, &e)
    }

    func lookup(_ req: fuse_req_t?, _ parent: fuse_ino_t, _ name: String) {
        replying(req) { () throws(GoferError) in
            let p = try path(parent, name)
            let s: FileStat
            do throws(GoferError) {
                s = try filesystem.lstat(p)
            } catch where error.errno == .noSuchFileOrDirectory && caching.negativeEntries {
                // A negative entry the kernel keeps as long as the client trusts its own negative lookups.
                var e = fuse_entry_param()
                e.entry_timeout = caching.entryTimeout
                fuse_reply_entry(req, &e)
                return
            }
            var e = entry(name, in: parent, s)
            fuse_reply_entry(req, &e)
        }
    }

    /// Attributes of a node: through its open file when the kernel names one (it may have no name left).
    func attributes(_ ino: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>?) throws(GoferError) -> FileStat {
        if let fi, let open = files[fi.pointee.fh] { return try open.file.stat() }
        // fstat of a file whose every name was removed: the kernel names no handle, but one of the node's is open.
        guard let p = nodes.path(ino) else {
            if let open = files.first(where: { $0.node == ino }) { return try open.file.stat() }
            throw GoferError(.staleNFSFileHandle, "node \(ino) has no name left")
        }
        return try filesystem.lstat(p)
    }

    func getattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>?) {
        replying(req) { () throws(GoferError) in
            var st = Self.hostStat(try attributes(ino, fi))
            fuse_reply_attr(req, &st, caching.attrTimeout)
        }
    }

    func setattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ attr: stat, _ toSet: Int32,
                 _ fi: UnsafeMutablePointer<fuse_file_info>?) {
        replying(req) { () throws(GoferError) in
            let p = try path(ino)
            let set = UInt32(bitPattern: toSet)
            if set & UInt32(FUSE_SET_ATTR_MODE) != 0 { try filesystem.chmod(p, mode: attr.st_mode) }
            let uid = set & UInt32(FUSE_SET_ATTR_UID) != 0 ? attr.st_uid : nil
            let gid = set & UInt32(FUSE_SET_ATTR_GID) != 0 ? attr.st_gid : nil
            if uid != nil || gid != nil { try filesystem.chown(p, uid: uid, gid: gid, followFinal: false) }
            if set & UInt32(FUSE_SET_ATTR_SIZE) != 0 { try filesystem.truncate(p, size: UInt64(attr.st_size)) }
            let atime = Self.time(set, explicit: UInt32(FUSE_SET_ATTR_ATIME), now: UInt32(FUSE_SET_ATTR_ATIME_NOW), attr.st_atim)
            let mtime = Self.time(set, explicit: UInt32(FUSE_SET_ATTR_MTIME), now: UInt32(FUSE_SET_ATTR_MTIME_NOW), attr.st_mtim)
            if atime != nil || mtime != nil {
                // The filesystem sets times through a final symlink; a symlink's own times cannot be set.
                if try filesystem.lstat(p).isSymlink { throw GoferError(.notSupported, "set times of symlink \(p)") }
                try filesystem.setTimes(p, atime: atime, mtime: mtime)
            }
            var st = Self.hostStat(try attributes(ino, fi))
            fuse_reply_attr(req, &st, caching.attrTimeout)
        }
    }

    /// The time a setattr asks for: explicit, now, or none.
    static func time(_ set: UInt32, explicit: UInt32, now: UInt32, _ t: timespec) -> Timespec? {
        if set & now != 0 {
            var n = timespec()
            clock_gettime(CLOCK_REALTIME, &n)
            return Timespec(sec: UInt64(n.tv_sec), nsec: UInt64(n.tv_nsec))
        }
        if set & explicit != 0 { return Timespec(sec: UInt64(max(0, t.tv_sec)), nsec: UInt64(max(0, t.tv_nsec))) }
        return nil
    }

    func readlink(_ req: fuse_req_t?, _ ino: fuse_ino_t) {
        replying(req) { () throws(GoferError) in
            let target = try filesystem.readlink(try path(ino))
            fuse_reply_readlink(req, target)
        }
    }

    func mkdir(_ req: fuse_req_t?, _ parent: fuse_ino_t, _ name: String, _ mode: mode_t) {
        replying(req) { () throws(GoferError) in
            let p = try path(parent, name)
            try filesystem.mkdir(p, mode: mode & 0o7777)
            try replyEntry(req, name, in: parent, path: p)
        }
    }

    func mknod(_ req: fuse_req_t?, _ parent: fuse_ino_t, _ name: String, _ mode: mode_t, _ rdev: dev_t) {
        replying(req) { () throws(GoferError) in
            let p = try path(parent, name)
            if mode & S_IFMT == S_IFREG || mode & S_IFMT == 0 {
                let file = try filesystem.open(p, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode & 0o7777)
                try file.close()
            } else {
                try makeNode(p, mode: mode, device: rdev)
            }
            try replyEntry(req, name, in: parent, path: p)
        }
    }

    func symlink(_ req: fuse_req_t?, _ target: String, _ parent: fuse_ino_t, _ name: String) {
        replying(req) { () throws(GoferError) in
            let p = try path(parent, name)
            try filesystem.symlink(target, at: p)
            try replyEntry(req, name, in: parent, path: p)
        }
    }

    func link(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ newParent: fuse_ino_t, _ newName: String) {
        replying(req) { () throws(GoferError) in
            let from = try path(ino), to = try path(newParent, newName)
            try hardLink(from, to: to)
            try replyEntry(req, newName, in: newParent, path: to)
        }
    }

    func remove(_ req: fuse_req_t?, _ parent: fuse_ino_t, _ name: String, directory: Bool) {
        replying(req) { () throws(GoferError) in
            let p = try path(parent, name)
            if directory { try filesystem.rmdir(p) } else { try filesystem.unlink(p) }
            nodes.removed(name, in: parent)
            fuse_reply_err(req, 0)
        }
        removedOrRenamed()
    }

    func rename(_ req: fuse_req_t?, _ parent: fuse_ino_t, _ name: String, _ newParent: fuse_ino_t, _ newName: String,
                _ flags: UInt32) {
        replying(req) { () throws(GoferError) in
            // RENAME_NOREPLACE and RENAME_EXCHANGE have no 9P counterpart.
            guard flags == 0 else { throw GoferError(.invalidArgument, "rename flags \(flags) are not supported") }
            let from = try path(parent, name), to = try path(newParent, newName)
            try filesystem.rename(from, to: to)
            nodes.renamed(name, in: parent, to: newName, in: newParent)
            fuse_reply_err(req, 0)
        }
        removedOrRenamed()
    }

    func statfs(_ req: fuse_req_t?) {
        replying(req) { () throws(GoferError) in
            let s = try filesystem.statfs()
            var v = statvfs()
            v.f_bsize = UInt(s.blockSize)
            v.f_frsize = UInt(s.blockSize)
            v.f_blocks = UInt(s.blocks)
            v.f_bfree = UInt(s.blocksFree)
            v.f_bavail = UInt(s.blocksAvailable)
            v.f_files = UInt(s.files)
            v.f_ffree = UInt(s.filesFree)
            v.f_favail = UInt(s.filesFree)
            v.f_fsid = UInt(truncatingIfNeeded: s.fsID)
            v.f_namemax = UInt(s.nameLength)
            fuse_reply_statfs(req, &v)
        }
    }
}
