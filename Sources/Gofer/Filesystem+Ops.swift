import P9
import SystemPackage

extension Filesystem {
    /// stat(2): follows a final symlink.
    public func stat(_ path: String) throws(GoferError) -> FileStat {
        if let st = cachedStat(path, followFinal: true) { return st }
        if let st = try hostStat(path, followFinal: true) { return st }
        return try pathOp("stat \(path)") { try resolver.stat(path: path, followFinal: true, in: self) }
    }

    /// lstat(2): does not follow a final symlink.
    public func lstat(_ path: String) throws(GoferError) -> FileStat {
        if let st = cachedStat(path, followFinal: false) { return st }
        if let st = try hostStat(path, followFinal: false) { return st }
        return try pathOp("lstat \(path)") { try resolver.stat(path: path, followFinal: false, in: self) }
    }

    /// mkdir(2). Instantiates no dentry for the new directory.
    public func mkdir(_ path: String, mode: UInt32 = 0o755) throws(GoferError) {
        try pathOp("mkdir \(path)") {
            let (parentPath, name) = try parentAndName(path)
            if try resolver.apply(.mkdir(parent: parentPath, name: name, mode: mode), in: self) { return }
            let parent = try resolveDirectoryForChange(parentPath)
            if options.cachesMetadata, parent.children[name] != nil { throw Errno.fileExists }
            let f = try fid(of: parent)
            _ = try rpc(parent) { try f.mkdir(name, mode: mode & 0o7777, gid: Frame.noGID, uid: uid) }
            parent.negative.remove(name)
            parent.listing = nil
        }
    }

    /// unlink(2): one Tunlinkat on the parent (Twalk+Tremove on servers without it); no dentry for the victim.
    public func unlink(_ path: String) throws(GoferError) { try pathOp("unlink \(path)") { try remove(path, flags: 0) } }

    /// rmdir(2).
    public func rmdir(_ path: String) throws(GoferError) { try pathOp("rmdir \(path)") { try remove(path, flags: 0x200) } }

    /// unlink or rmdir (`flags` AT_REMOVEDIR), with `tree` shared and `lock` held.
    private func remove(_ path: String, flags: UInt32) throws {
        let (parentPath, name) = try parentAndName(path)
        if try resolver.apply(.remove(parent: parentPath, name: name, directory: flags & 0x200 != 0), in: self) { return }
        let parent = try resolveDirectoryForChange(parentPath)
        if options.cachesMetadata && parent.negative.contains(name) { throw Errno.noSuchFileOrDirectory }
        if options.cachesMetadata, let c = parent.children[name] {
            if flags & 0x200 != 0 && !c.isDirectory { throw Errno.notDirectory }
            if flags & 0x200 == 0 && c.isDirectory { throw Errno.isDirectory }
        }
        let f = try fid(of: parent)
        try rpc(parent) { try f.unlinkAt(name, flags: flags) }
        if let c = parent.children[name] { markStale(c) }
        if options.cachesMetadata { parent.negative.insert(name) }
        parent.listing = nil
    }

    /// symlink(2): creates `path` pointing at `target`.
    public func symlink(_ target: String, at path: String) throws(GoferError) {
        try pathOp("symlink \(path)") {
            let (parentPath, name) = try parentAndName(path)
            if try resolver.apply(.symlink(parent: parentPath, name: name, target: target), in: self) { return }
            let parent = try resolveDirectoryForChange(parentPath)
            if options.cachesMetadata, parent.children[name] != nil { throw Errno.fileExists }
            let f = try fid(of: parent)
            _ = try rpc(parent) { try f.symlink(name, target: target, gid: Frame.noGID, uid: uid) }
            parent.negative.remove(name)
            parent.listing = nil
        }
    }

    /// readlink(2); the target is cached except in Shared.
    public func readlink(_ path: String) throws(GoferError) -> String {
        try pathOp("readlink \(path)") {
            if let target = try resolver.readlink(try pathComponents(path), in: self) { return target }
            let d = try resolve(path, followFinal: false)
            guard d.isSymlink else { throw Errno.invalidArgument }
            return try symlinkTarget(of: d)
        }
    }

    /// Lists a directory (without "." and ".."). Cached in Exclusive/Writethrough.
    public func readdir(_ path: String) throws(GoferError) -> [DirectoryEntry] {
        try pathOp("readdir \(path)") {
            if let entries = try resolver.readdir(try pathComponents(path), in: self) { return entries }
            let d = try resolve(path)
            guard d.isDirectory else { throw Errno.notDirectory }
            guard mayAccess(d, .read) else { throw Errno.permissionDenied }
            if options.cachesMetadata, let l = d.listing { return l }
            let changes = d.changes
            if d.directoryHandle == nil {
                let f = try fid(of: d)
                let h = try rpc(d) { try Handle.open(f, read: true, write: false, truncate: false, useHostFD: false) }
                // Another thread's handle opened during the RPC wins; this one closes when released.
                if d.directoryHandle == nil { d.directoryHandle = h }
            }
            guard let dir = d.directoryHandle?.file else { throw Errno.badFileDescriptor }
            var entries: [DirectoryEntry] = []
            var offset: UInt64 = 0
            let count = UInt32(min(client.payloadSize, 64 * 1024))
            while true {
                let at = offset
                let batch = try rpc(d) { try dir.readdir(offset: at, count: count) }
                if batch.isEmpty { break }
                for e in batch where e.name != "." && e.name != ".." {
                    entries.append(DirectoryEntry(name: e.name, ino: e.qid.path, type: e.qid.type))
                }
                offset = batch[batch.count - 1].offset
            }
            if options.cachesMetadata && d.changes == changes { d.listing = entries }
            return entries
        }
    }

    /// rename(2).
    public func rename(_ oldPath: String, to newPath: String) throws(GoferError) {
        try pathOp("rename \(oldPath) to \(newPath)", exclusive: true) {
            let (oldParentPath, oldName) = try parentAndName(oldPath)
            let (newParentPath, newName) = try parentAndName(newPath)
            let change = PathChange.rename(oldParent: oldParentPath, oldName: oldName, newParent: newParentPath, newName: newName)
            if try resolver.apply(change, in: self) { return }
            let oldParent = try resolveDirectoryForChange(oldParentPath)
            let newParent = try resolveDirectoryForChange(newParentPath)
            if oldParent === newParent && oldName == newName {
                // A name renamed onto itself stays as it is (the server still reports a missing one).
                let f = try fid(of: oldParent)
                try rpc(oldParent) { try f.renameAt(oldName, to: f, newName) }
                return
            }
            var moved = oldParent.children[oldName]
            if fidsNamePaths, let m = moved, let movedFid = m.fid {
                // Trename through the moved fid keeps it valid; its descendants' fids still name old paths.
                let to = try fid(of: newParent)
                try rpc(m) { try movedFid.rename(to: to, name: newName) }
                for c in Array(m.children.values) { markStale(c) }
            } else {
                let from = try fid(of: oldParent), to = try fid(of: newParent)
                newParent.pins += 1
                defer { newParent.pins -= 1 }
                try rpc(oldParent) { try from.renameAt(oldName, to: to, newName) }
                if fidsNamePaths, let m = moved {
                    markStale(m)  // its fid still names the old path on a path-based server
                    moved = nil
                }
            }
            if let replaced = newParent.children[newName], replaced !== moved { markStale(replaced) }
            if let moved {
                oldParent.children[oldName] = nil
                moved.name = newName
                moved.parent = newParent
                newParent.children[newName] = moved
            }
            newParent.negative.remove(newName)
            if options.cachesMetadata { oldParent.negative.insert(oldName) }
            oldParent.listing = nil
            newParent.listing = nil
        }
    }

    /// truncate(2).
    public func truncate(_ path: String, size: UInt64) throws(GoferError) {
        try pathOp("truncate \(path)") {
            if try resolver.apply(.truncate(try pathComponents(path), size: size), in: self) { return }
            let d = try resolve(path)
            try truncate(d, size: size)
        }
    }

    func truncate(_ d: Dentry, size: UInt64) throws {
        guard !d.isDirectory else { throw Errno.isDirectory }
        var attr = SetAttr()
        attr.size = size
        let f = try fid(of: d)
        try rpc(d) { try f.setAttr(.size, attr) }
        if let pages = d.pages { d.data.withLock { pages.truncate(to: size) } }
        d.attr.size = size
    }

    /// chmod(2).
    public func chmod(_ path: String, mode: UInt32) throws(GoferError) {
        try pathOp("chmod \(path)") {
            if try resolver.apply(.chmod(try pathComponents(path), mode: mode), in: self) { return }
            let d = try resolve(path)
            var attr = SetAttr()
            attr.mode = mode & 0o7777
            let f = try fid(of: d)
            try rpc(d) { try f.setAttr(.mode, attr) }
            d.attr.mode = (d.attr.mode & ~0o7777) | (mode & 0o7777)
        }
    }

    /// utimensat(2) with explicit times. Shared writes them at once (server-authoritative);
    /// Exclusive/Writethrough keep them on the dentry and write them back on fsync or release.
    public func setTimes(_ path: String, atime: Timespec?, mtime: Timespec?) throws(GoferError) {
        try pathOp("setTimes \(path)") {
            if try resolver.apply(.setTimes(try pathComponents(path), atime: atime, mtime: mtime), in: self) { return }
            let d = try resolve(path)
            if let a = atime { d.attr.atime = a }
            if let m = mtime { d.attr.mtime = m }
            if options.mode == .shared {
                var valid: SetAttrMask = []
                var attr = SetAttr()
                if let a = atime { valid.formUnion([.atime, .atimeSet]); attr.atime = a }
                if let m = mtime { valid.formUnion([.mtime, .mtimeSet]); attr.mtime = m }
                let f = try fid(of: d)
                try rpc(d) { try f.setAttr(valid, attr) }
            } else {
                if let a = atime { d.pendingATime = a }
                if let m = mtime { d.pendingMTime = m }
            }
        }
    }

    /// statfs(2) of the export.
    public func statfs() throws(GoferError) -> StatFS {
        try pathOp("statfs") {
            let f = try fid(of: root)
            return try rpc(root) { try f.statfs() }
        }
    }

    /// Exclusive/Writethrough (vfs2, multi): a stat the cache answers alone, with `lock` held shared so that threads
    /// statting cached paths run in parallel; nil (take the usual route) at anything not cached, a symlink, or a
    /// failed check, where the usual route decides and sends whatever RPCs it would have.
    func cachedStat(_ path: String, followFinal: Bool) -> FileStat? {
        guard options.cachesMetadata, options.resolver == .vfs2 || options.resolver == .multi,
              let components = try? pathComponents(path) else { return nil }
        return lock.shared {
            // Unretained: the tree owns every dentry and cannot change under the shared lock, and a retain of a
            // dentry every path shares (the root) writes a cache line all threads read: the walk's own cost on 2 CPUs.
            var d = Unmanaged.passUnretained(root)
            for name in components {
                let next = d._withUnsafeGuaranteedRef { d -> Unmanaged<Dentry>? in
                    guard name != "." && name != "..", d.isDirectory, mayAccess(d, .execute), let c = d.children[name],
                          !c.isSymlink else { return nil }
                    touchShared(c)
                    return Unmanaged.passUnretained(c)
                }
                guard let next else { return nil }
                d = next
            }
            return d._withUnsafeGuaranteedRef { FileStat(qid: $0.qid, attr: $0.attr) }
        }
    }

    /// The direct resolver without cached metadata (Shared, None): the host answers a canonical path beneath the donated
    /// root under `tree` alone, since no dentry state is read or written; nil when that route does not apply.
    func hostStat(_ path: String, followFinal: Bool) throws(GoferError) -> FileStat? {
        guard !options.cachesMetadata, options.resolver == .direct, let start = canonicalStart(path) else { return nil }
        return try tree.shared { () throws(GoferError) -> FileStat? in
            guard let fd = donatedRoot else { return nil }  // stable here: release takes `tree` exclusively
            do {
                let (qid, attr) = try hostDirs.map { dirs throws(Errno) in
                    try dirs.stat(path, dropping: start, follow: followFinal, root: fd)
                } ?? HostRoot(fd: fd).stat(path, dropping: start, follow: followFinal)
                return FileStat(qid: qid, attr: attr)
            } catch {
                throw GoferError(error, operation: (followFinal ? "stat " : "lstat ") + path)
            }
        }
    }

    /// True on plain 9P2000.L servers: diod binds a fid to a path, so a rename leaves other fids naming the old path.
    var fidsNamePaths: Bool { client.version == 0 }
}
