import CFuse3
import Glibc
import Gofer
import P9

/// Hard links, special files, xattrs, fallocate and POSIX locks.
extension FUSEMount {
    /// The kernel sends POSIX locks here, so that they go to the server (Tlock) and other clients see them.
    var locksSupported: Bool { true }

    func hardLink(_ path: String, to newPath: String) throws(GoferError) {
        try filesystem.link(path, to: newPath)
    }

    func makeNode(_ path: String, mode: mode_t, device: dev_t) throws(GoferError) {
        try filesystem.mknod(path, mode: mode, device: UInt64(device))
    }

    func setxattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ name: String, _ value: UnsafeRawBufferPointer, _ flags: Int32) {
        replying(req) { () throws(GoferError) in
            try filesystem.setxattr(try path(ino), name: name, value: [UInt8](value), flags: flags)
            fuse_reply_err(req, 0)
        }
    }

    func getxattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ name: String, _ size: Int) {
        replying(req) { () throws(GoferError) in
            replyXattr(req, try filesystem.getxattr(try path(ino), name: name), size: size)
        }
    }

    func listxattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ size: Int) {
        replying(req) { () throws(GoferError) in
            var bytes: [UInt8] = []
            for name in try filesystem.listxattr(try path(ino)) { bytes += Array(name.utf8) + [0] }
            replyXattr(req, bytes, size: size)
        }
    }

    /// An xattr value or name list: its size when the caller asked for the size (0), ERANGE when it does not fit.
    private func replyXattr(_ req: fuse_req_t?, _ bytes: [UInt8], size: Int) {
        if size == 0 {
            fuse_reply_xattr(req, bytes.count)
        } else if bytes.count > size {
            fuse_reply_err(req, ERANGE)
        } else {
            bytes.withUnsafeBytes { fuse_reply_buf(req, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        }
    }

    func removexattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ name: String) {
        replying(req) { () throws(GoferError) in
            try filesystem.removexattr(try path(ino), name: name)
            fuse_reply_err(req, 0)
        }
    }

    func fallocate(_ req: fuse_req_t?, _ mode: Int32, _ offset: off_t, _ length: off_t, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        replying(req) { () throws(GoferError) in
            guard offset >= 0, length > 0 else { throw GoferError(.invalidArgument, "fallocate of \(offset)+\(length)") }
            try file(fi).allocate(mode: UInt32(bitPattern: mode), offset: UInt64(offset), length: UInt64(length))
            fuse_reply_err(req, 0)
        }
    }

    /// The lock type of a struct flock.
    static func lockType(_ t: Int16) throws(GoferError) -> LockType {
        switch Int32(t) {
        case F_RDLCK: return .readLock
        case F_WRLCK: return .writeLock
        case F_UNLCK: return .unlock
        default: throw GoferError(.invalidArgument, "lock type \(t)")
        }
    }

    func getlk(_ req: fuse_req_t?, _ fi: UnsafeMutablePointer<fuse_file_info>, _ lock: UnsafeMutablePointer<flock>) {
        replying(req) { () throws(GoferError) in
            let l = lock.pointee
            var answer = flock()
            if let held = try file(fi).getlock(type: try Self.lockType(l.l_type), start: UInt64(max(0, l.l_start)),
                                               length: UInt64(max(0, l.l_len)), pid: l.l_pid) {
                answer.l_type = Int16(held.type == .readLock ? F_RDLCK : F_WRLCK)
                answer.l_start = off_t(held.start)
                answer.l_len = off_t(held.length)
                answer.l_pid = held.pid
            } else {
                answer.l_type = Int16(F_UNLCK)
            }
            answer.l_whence = Int16(SEEK_SET)
            fuse_reply_lock(req, &answer)
        }
    }

    func setlk(_ req: fuse_req_t?, _ fi: UnsafeMutablePointer<fuse_file_info>, _ lock: flock, wait: Bool) {
        replying(req) { () throws(GoferError) in
            // The caller's pid: POSIX locks belong to a process, and the filesystem keeps a lock handle per pid.
            let status = try file(fi).lock(type: try Self.lockType(lock.l_type), start: UInt64(max(0, lock.l_start)),
                                           length: UInt64(max(0, lock.l_len)), pid: lock.l_pid, wait: wait)
            switch status {
            case .success: fuse_reply_err(req, 0)
            case .blocked, .grace: fuse_reply_err(req, EAGAIN)
            case .error: fuse_reply_err(req, ENOLCK)
            }
        }
    }
}
