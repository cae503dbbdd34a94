import CFuse3
import Glibc
import Gofer

/// Hard links, special files, xattrs, fallocate and POSIX locks.
extension FUSEMount {
    /// Whether the kernel should send POSIX locks here (else it keeps them local to this machine).
    var locksSupported: Bool { false }

    func hardLink(_ path: String, to newPath: String) throws(GoferError) {
        throw GoferError(.noFunction, "link \(path) \(newPath): not supported yet")
    }

    func makeNode(_ path: String, mode: mode_t, device: dev_t) throws(GoferError) {
        throw GoferError(.noFunction, "mknod \(path): not supported yet")
    }

    func setxattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ name: String, _ value: UnsafeRawBufferPointer, _ flags: Int32) {
        fuse_reply_err(req, ENOSYS)
    }

    func getxattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ name: String, _ size: Int) {
        fuse_reply_err(req, ENOSYS)
    }

    func listxattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ size: Int) {
        fuse_reply_err(req, ENOSYS)
    }

    func removexattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ name: String) {
        fuse_reply_err(req, ENOSYS)
    }

    func fallocate(_ req: fuse_req_t?, _ mode: Int32, _ offset: off_t, _ length: off_t, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        fuse_reply_err(req, ENOSYS)
    }

    func getlk(_ req: fuse_req_t?, _ fi: UnsafeMutablePointer<fuse_file_info>, _ lock: UnsafeMutablePointer<flock>) {
        fuse_reply_err(req, ENOSYS)
    }

    func setlk(_ req: fuse_req_t?, _ fi: UnsafeMutablePointer<fuse_file_info>, _ lock: flock, wait: Bool) {
        fuse_reply_err(req, ENOSYS)
    }
}
