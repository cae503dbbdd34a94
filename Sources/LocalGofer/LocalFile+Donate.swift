import Glibc
import P9
import SystemPackage

extension LocalFile {
    /// Tdonateroot: a fresh O_PATH descriptor of this directory (never on a read-only export: it could be opened for writing).
    func donateRoot() throws -> OpenedFile {
        try gofer.checkWritable()
        guard isDirectory else { throw Errno.notDirectory }
        return OpenedFile(qid: qid, hostFD: try Host.openat(pathFD, ".", Host.oPath | O_DIRECTORY))
    }
}
