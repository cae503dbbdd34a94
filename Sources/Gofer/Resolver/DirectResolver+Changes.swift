import P9
import SystemPackage

/// The changes by *at syscalls beneath the donated root, and what each does to the dentry cache (the same as the
/// RPC route: negative entries, listings, stale dentries; attributes refreshed from the host after the change).
extension DirectResolver {
    func apply(_ change: PathChange, in fs: Filesystem) throws -> Bool {
        guard let host = fs.host else { return false }
        switch change {
        case let .mkdir(parent, name, mode):
            let site = try directory(parent, host, fs)
            if let p = site.dentry, p.children[name] != nil { throw Errno.fileExists }
            try host.mkdir(parent, name, mode: mode & 0o7777)
            added(name, at: site, fs)
        case let .symlink(parent, name, target):
            let site = try directory(parent, host, fs)
            if let p = site.dentry, p.children[name] != nil { throw Errno.fileExists }
            try host.symlink(target, parent, name)
            added(name, at: site, fs)
        case let .remove(parent, name, isDirectory):
            let site = try directory(parent, host, fs)
            if let p = site.dentry {
                if p.negative.contains(name) { throw Errno.noSuchFileOrDirectory }
                if let c = p.children[name] {
                    if isDirectory && !c.isDirectory { throw Errno.notDirectory }
                    if !isDirectory && c.isDirectory { throw Errno.isDirectory }
                }
            }
            try host.remove(parent, name, directory: isDirectory)
            fs.hostDirs?.forget(parent + [name])
            removed(name, at: site, fs)
        case let .rename(oldParent, oldName, newParent, newName):
            let oldSite = try directory(oldParent, host, fs)
            let newSite = try directory(newParent, host, fs)
            try host.rename(oldParent, oldName, newParent, newName)
            fs.hostDirs?.forget(oldParent + [oldName])
            fs.hostDirs?.forget(newParent + [newName])
            // The moved dentry is dropped rather than moved: the next lookup asks the host, which costs no RPC.
            removed(oldName, at: oldSite, fs)
            replaced(newName, at: newSite, fs)
        case let .truncate(path, size):
            let site = try site(path, host, fs)
            let st = try host.truncate(path, size: size)
            site.dentry?.pages?.truncate(to: size)
            refreshed(site, st, fs)
        case let .chmod(path, mode):
            let site = try site(path, host, fs)
            refreshed(site, try host.chmod(path, mode: mode), fs)
        case let .setTimes(path, atime, mtime):
            let site = try site(path, host, fs)
            refreshed(site, try host.setTimes(path, atime: atime, mtime: mtime), fs)
        }
        return true
    }

    /// The cache site of a directory about to change (ENOTDIR when the cache knows it is none).
    private func directory(_ components: [String], _ host: HostRoot, _ fs: Filesystem) throws -> CacheSite {
        let s = try site(components, host, fs)
        if let d = s.dentry, !d.isDirectory { throw Errno.notDirectory }
        return s
    }

    /// `name` now exists in the directory.
    private func added(_ name: String, at site: CacheSite, _ fs: Filesystem) {
        switch site {
        case .none: return
        case let .dentry(p):
            p.negative.remove(name)
            p.listing = nil
        case .unknown: forgetAll(fs)
        }
    }

    /// `name` no longer exists in the directory.
    private func removed(_ name: String, at site: CacheSite, _ fs: Filesystem) {
        switch site {
        case .none: return
        case let .dentry(p):
            if let c = p.children[name] { fs.markStale(c) }
            p.negative.insert(name)
            p.listing = nil
        case .unknown: forgetAll(fs)
        }
    }

    /// `name` in the directory is now another file.
    private func replaced(_ name: String, at site: CacheSite, _ fs: Filesystem) {
        switch site {
        case .none: return
        case let .dentry(p):
            if let c = p.children[name] { fs.markStale(c) }
            p.negative.remove(name)
            p.listing = nil
        case .unknown: forgetAll(fs)
        }
    }

    /// The attributes the host reported after a change of the file.
    private func refreshed(_ site: CacheSite, _ st: (qid: QID, attr: Attr), _ fs: Filesystem) {
        switch site {
        case .none: return
        case let .dentry(d):
            d.qid = st.qid
            d.attr = st.attr
        case .unknown: forgetAll(fs)
        }
    }

    /// A change through a symlink: any cached dentry may alias what changed, so none is kept (open ones stay alive).
    private func forgetAll(_ fs: Filesystem) {
        try? fs.writeBackAndEvictAll()
    }
}
