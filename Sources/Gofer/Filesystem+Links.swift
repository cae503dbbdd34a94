import P9
import SystemPackage

/// Hard links and special files: one Tlink or Tmknod after the walks the resolver needs.
extension Filesystem {
    /// link(2): `newPath` becomes another name of `existingPath` (a final symlink is linked, not followed).
    ///
    /// The modes that cache metadata cache the new name as a fid-less dentry with the target's attributes.
    public func link(_ existingPath: String, to newPath: String) throws(GoferError) {
        try pathOp("link \(existingPath) to \(newPath)") {
            let (parentPath, name) = try parentAndName(newPath)
            let target = try resolve(existingPath, followFinal: false)
            if target.isDirectory { throw Errno.notPermitted }
            // Pinned: resolving the parent may trim the cache, which must not clunk the target's fid meanwhile.
            target.pins += 1
            defer { target.pins -= 1 }
            let parent = try resolveDirectoryForChange(parentPath)
            parent.pins += 1  // and the parent while the target's fid may be walked
            defer { parent.pins -= 1 }
            if options.cachesMetadata && parent.children[name] != nil { throw Errno.fileExists }
            let targetFid = try fid(of: target)
            let dirFid = try fid(of: parent)
            try rpc(parent) { try dirFid.link(targetFid, name: name) }
            target.attr.nlink += 1
            parent.negative.remove(name)
            parent.listing = nil
            if options.cachesMetadata && !target.isStale && !parent.isStale {
                insert(Dentry(parent: parent, name: name, qid: target.qid, attr: target.attr, fid: nil), into: parent)
            }
        }
    }

    /// mknod(2): `mode` carries the file type (S_IFIFO, S_IFSOCK, S_IFREG or 0; S_IFCHR/S_IFBLK with `device`).
    ///
    /// Instantiates no dentry; goferd refuses device nodes (EPERM).
    public func mknod(_ path: String, mode: UInt32, device: UInt64 = 0) throws(GoferError) {
        try pathOp("mknod \(path)") {
            let (parentPath, name) = try parentAndName(path)
            var type = mode & 0o170000
            switch type {
            case 0: type = 0o100000  // mknod(2): 0 means a regular file
            case 0o100000, 0o010000, 0o140000, 0o020000, 0o060000: break
            default: throw Errno.invalidArgument  // a directory or a symlink has its own call
            }
            let parent = try resolveDirectoryForChange(parentPath)
            if options.cachesMetadata && parent.children[name] != nil { throw Errno.fileExists }
            // glibc's dev_t layout: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31.
            let major = UInt32(truncatingIfNeeded: (device >> 8) & 0xFFF | (device >> 32) & ~0xFFF)
            let minor = UInt32(truncatingIfNeeded: device & 0xFF | (device >> 12) & ~0xFF)
            let f = try fid(of: parent)
            _ = try rpc(parent) {
                try f.mknod(name, mode: type | (mode & 0o7777), major: major, minor: minor, gid: Frame.noGID, uid: uid)
            }
            parent.negative.remove(name)
            parent.listing = nil
        }
    }
}
