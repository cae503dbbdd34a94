import CFuse3
import Glibc
import Gofer

/// The low-level operations table: every callback finds its `FUSEMount` in the session's userdata and calls it.
///
/// The callbacks run on libfuse's worker threads; each replies to its request exactly once.
extension FUSEMount {
    /// The mount a request belongs to.
    @inline(__always)
    static func of(_ req: fuse_req_t?) -> FUSEMount {
        Unmanaged<FUSEMount>.fromOpaque(fuse_req_userdata(req)!).takeUnretainedValue()
    }

    static func operations() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userdata, conn in
            guard let userdata, let conn else { return }
            Unmanaged<FUSEMount>.fromOpaque(userdata).takeUnretainedValue().configure(conn)
        }
        ops.lookup = { req, parent, name in FUSEMount.of(req).lookup(req, parent, String(cString: name!)) }
        ops.forget = { req, ino, n in
            FUSEMount.of(req).nodes.forget(ino, count: n)
            fuse_reply_none(req)
        }
        ops.getattr = { req, ino, fi in FUSEMount.of(req).getattr(req, ino, fi) }
        ops.setattr = { req, ino, attr, toSet, fi in FUSEMount.of(req).setattr(req, ino, attr!.pointee, toSet, fi) }
        ops.readlink = { req, ino in FUSEMount.of(req).readlink(req, ino) }
        ops.mknod = { req, parent, name, mode, rdev in FUSEMount.of(req).mknod(req, parent, String(cString: name!), mode, rdev) }
        ops.mkdir = { req, parent, name, mode in FUSEMount.of(req).mkdir(req, parent, String(cString: name!), mode) }
        ops.unlink = { req, parent, name in FUSEMount.of(req).remove(req, parent, String(cString: name!), directory: false) }
        ops.rmdir = { req, parent, name in FUSEMount.of(req).remove(req, parent, String(cString: name!), directory: true) }
        ops.symlink = { req, target, parent, name in
            FUSEMount.of(req).symlink(req, String(cString: target!), parent, String(cString: name!))
        }
        ops.rename = { req, parent, name, newParent, newName, flags in
            FUSEMount.of(req).rename(req, parent, String(cString: name!), newParent, String(cString: newName!), flags)
        }
        ops.link = { req, ino, newParent, newName in FUSEMount.of(req).link(req, ino, newParent, String(cString: newName!)) }
        ops.open = { req, ino, fi in FUSEMount.of(req).open(req, ino, fi!) }
        ops.read = { req, _, size, offset, fi in FUSEMount.of(req).read(req, size, offset, fi!) }
        ops.write = { req, _, buf, size, offset, fi in FUSEMount.of(req).write(req, buf!, size, offset, fi!) }
        ops.flush = { req, _, _ in fuse_reply_err(req, 0) }
        ops.release = { req, _, fi in FUSEMount.of(req).release(req, fi!) }
        ops.fsync = { req, _, _, fi in FUSEMount.of(req).fsync(req, fi!) }
        ops.opendir = { req, ino, fi in FUSEMount.of(req).opendir(req, ino, fi!) }
        ops.readdir = { req, _, size, offset, fi in FUSEMount.of(req).readdir(req, size, offset, fi!) }
        ops.releasedir = { req, _, fi in
            _ = FUSEMount.of(req).directories.remove(fi!.pointee.fh)
            fuse_reply_err(req, 0)
        }
        ops.fsyncdir = { req, _, _, _ in fuse_reply_err(req, 0) }
        ops.statfs = { req, _ in FUSEMount.of(req).statfs(req) }
        ops.create = { req, parent, name, mode, fi in FUSEMount.of(req).create(req, parent, String(cString: name!), mode, fi!) }
        ops.setxattr = { req, ino, name, value, size, flags in
            FUSEMount.of(req).setxattr(req, ino, String(cString: name!), UnsafeRawBufferPointer(start: value, count: size), flags)
        }
        ops.getxattr = { req, ino, name, size in FUSEMount.of(req).getxattr(req, ino, String(cString: name!), size) }
        ops.listxattr = { req, ino, size in FUSEMount.of(req).listxattr(req, ino, size) }
        ops.removexattr = { req, ino, name in FUSEMount.of(req).removexattr(req, ino, String(cString: name!)) }
        ops.fallocate = { req, _, mode, offset, length, fi in FUSEMount.of(req).fallocate(req, mode, offset, length, fi!) }
        ops.getlk = { req, _, fi, lock in FUSEMount.of(req).getlk(req, fi!, lock!) }
        ops.setlk = { req, _, fi, lock, sleep in FUSEMount.of(req).setlk(req, fi!, lock!.pointee, wait: sleep != 0) }
        return ops
    }

    /// The session's start: what the connection should do beyond libfuse's defaults.
    func configure(_ conn: UnsafeMutablePointer<fuse_conn_info>) {
        // The kernel's own writeback cache would hold dirty data the modes do not account for.
        conn.pointee.want &= ~UInt32(FUSE_CAP_WRITEBACK_CACHE)
        if caching.cacheDirectories { conn.pointee.want |= UInt32(FUSE_CAP_CACHE_SYMLINKS) & conn.pointee.capable }
        if locksSupported { conn.pointee.want |= UInt32(FUSE_CAP_POSIX_LOCKS) & conn.pointee.capable }
    }

    /// Runs `body`, replying with the errno of whatever it throws (it replies itself on success).
    @inline(__always)
    func replying(_ req: fuse_req_t?, _ body: () throws(GoferError) -> Void) {
        do { try body() } catch { fuse_reply_err(req, error.errno.rawValue) }
    }

    /// The path of a node, ESTALE once no name leads to it.
    func path(_ ino: fuse_ino_t) throws(GoferError) -> String {
        guard let p = nodes.path(ino) else { throw GoferError(.staleNFSFileHandle, "node \(ino) has no name left") }
        return p
    }

    /// The path of `name` in directory `parent`.
    func path(_ parent: fuse_ino_t, _ name: String) throws(GoferError) -> String {
        guard let p = nodes.path(parent, name) else { throw GoferError(.staleNFSFileHandle, "node \(parent) has no name left") }
        return p
    }
}
