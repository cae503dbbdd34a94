import Glibc
import P9
import SystemPackage

/// Creation, links, renames and removal: all relative to held directory descriptors, names checked first.
extension LocalFile {
    func create(_ name: String, flags: OpenFlags, mode: UInt32, uid: UInt32?, gid: UInt32,
                context: RequestContext) throws -> (file: any ServerFile, opened: OpenedFile) {
        try checkName(name)
        try gofer.checkWritable()
        guard isDirectory else { throw Errno.notDirectory }
        // O_EXCL always (gVisor): a create never opens, or follows, something that already exists.
        let hostFlags = LocalFile.hostOpenFlags(flags) | O_CREAT | O_EXCL | O_NOFOLLOW
        let fd = try Host.openat(pathFD, name, hostFlags, mode_t(mode & 0o7777))
        var ok = false
        defer { if !ok { try? fd.close(); _ = unlinkat(pathFD.rawValue, name, 0) } }
        let newPath = try Host.reopen(fd, Host.oPath)
        let st: stat
        do { st = try Host.fstat(newPath) } catch { try? newPath.close(); throw error }
        gofer.chownNew(newPath, uid: uid, gid: gid)
        let file = LocalFile(gofer: gofer, pathFD: newPath, stat: st, parent: self, name: name)
        file.state.withLock { $0.fd = fd; $0.flags = flags }
        ok = true
        let donated = context.donateFDs ? try? Host.reopen(newPath, LocalFile.hostOpenFlags(flags.accessMode)) : nil
        return (file, OpenedFile(qid: file.qid, hostFD: donated))
    }

    func mkdir(_ name: String, mode: UInt32, uid: UInt32?, gid: UInt32) throws -> QID {
        try checkName(name)
        try gofer.checkWritable()
        _ = try Host.check(mkdirat(pathFD.rawValue, name, mode_t(mode & 0o7777)))
        return try finishCreated(name, uid: uid, gid: gid)
    }

    func symlink(_ name: String, target: String, uid: UInt32?, gid: UInt32) throws -> QID {
        try checkName(name)
        try gofer.checkWritable()
        _ = try Host.check(symlinkat(target, pathFD.rawValue, name))
        return try finishCreated(name, uid: uid, gid: gid)
    }

    func mknod(_ name: String, mode: UInt32, major: UInt32, minor: UInt32, uid: UInt32?, gid: UInt32) throws -> QID {
        try checkName(name)
        try gofer.checkWritable()
        // Device nodes would reach host hardware and memory through a later open (gVisor refuses them too).
        let type = mode_t(mode) & S_IFMT
        if type == S_IFCHR || type == S_IFBLK { throw Errno.notPermitted }
        let ma = UInt64(major), mi = UInt64(minor)
        // glibc's makedev layout.
        let dev = (ma & 0xFFFF_F000) << 32 | (ma & 0xFFF) << 8 | (mi & 0xFFFF_FF00) << 12 | (mi & 0xFF)
        _ = try Host.check(mknodat(pathFD.rawValue, name, mode_t(mode), dev_t(dev)))
        return try finishCreated(name, uid: uid, gid: gid)
    }

    /// Chowns a just-made entry and returns its QID.
    private func finishCreated(_ name: String, uid: UInt32?, gid: UInt32) throws -> QID {
        let fd = try Host.openPath(pathFD, name)
        defer { try? fd.close() }
        gofer.chownNew(fd, uid: uid, gid: gid)
        return gofer.qid(try Host.fstat(fd))
    }

    func link(_ target: any ServerFile, name: String) throws {
        try checkName(name)
        try gofer.checkWritable()
        guard let target = target as? LocalFile else { throw Errno.improperLink }
        guard !target.isDirectory else { throw Errno.notPermitted }
        // Following the /proc magic link links the held inode itself, with no capability needed.
        _ = try Host.check(linkat(AT_FDCWD, Host.procPath(target.pathFD), pathFD.rawValue, name, AT_SYMLINK_FOLLOW))
    }

    func rename(to directory: any ServerFile, name: String) throws {
        try checkName(name)
        try gofer.checkWritable()
        guard let dir = directory as? LocalFile else { throw Errno.improperLink }
        let loc = try verifiedLocation()
        _ = try Host.check(renameat(loc.parent.pathFD.rawValue, loc.name, dir.pathFD.rawValue, name))
        location.withLock { $0 = Location(parent: dir, name: name) }
    }

    func renameAt(_ oldName: String, to newDirectory: any ServerFile, _ newName: String) throws {
        try checkName(oldName)
        try checkName(newName)
        try gofer.checkWritable()
        guard let dir = newDirectory as? LocalFile else { throw Errno.improperLink }
        _ = try Host.check(renameat(pathFD.rawValue, oldName, dir.pathFD.rawValue, newName))
    }

    func unlinkAt(_ name: String, flags: UInt32) throws {
        try checkName(name)
        try gofer.checkWritable()
        _ = try Host.check(unlinkat(pathFD.rawValue, name, Int32(bitPattern: flags) & Host.atRemoveDir))
    }

    func remove() throws {
        try gofer.checkWritable()
        let loc = try verifiedLocation()
        _ = try Host.check(unlinkat(loc.parent.pathFD.rawValue, loc.name, isDirectory ? Host.atRemoveDir : 0))
    }

    /// The parent and name this file was reached by, checked to still name this very inode
    /// (another fid may have renamed it); the export root has none (EBUSY).
    private func verifiedLocation() throws -> (parent: LocalFile, name: String) {
        let loc = location.withLock { $0 }
        guard let parent = loc.parent else { throw Errno.resourceBusy }
        let now = try Host.fstatat(parent.pathFD, loc.name)
        let mine = try Host.fstat(pathFD)
        guard now.st_dev == mine.st_dev, now.st_ino == mine.st_ino else { throw Errno.noSuchFileOrDirectory }
        return (parent, loc.name)
    }
}
