import P9
import SystemPackage

/// VFS1's cacheRemoteRevalidating baseline: per component Tgetattr(dir) for the permission check, Twalkgetattr +
/// Tclunk to revalidate a cached child and Twalkgetattr to look it up when needed; stat sends a final Tgetattr.
struct VFS1Resolver: Resolver {
    /// Refuses every mode but Shared: the baseline it models revalidates on every walk.
    init(mode: InteropMode) throws {
        guard mode == .shared else {
            throw GoferError(.invalidArgument, "the vfs1 resolver models cacheRemoteRevalidating and needs the shared mode")
        }
    }

    func resolve(_ components: [String], followFinal: Bool, in fs: Filesystem) throws -> Dentry {
        try walk(components, from: fs.root, followFinal: followFinal, in: fs)
    }

    func child(_ name: String, of dir: Dentry, in fs: Filesystem) throws -> Dentry {
        try fs.refresh(dir)
        guard fs.mayAccess(dir, .execute) else { throw Errno.permissionDenied }
        if let cachedChild = dir.children[name] {
            let r = try fs.revalidatingWalk(dir, cachedChild)
            try fs.rpc(nil) { try r.file.clunk() }
            if let q = r.qids.last, cachedChild.matches(q) {
                cachedChild.attr = r.attr
                fs.touch(cachedChild)
                return cachedChild
            }
            fs.markStale(cachedChild)
        }
        return try fs.lookup(name, in: dir)
    }

    /// Fetches the attributes again for the stat itself, as VFS1 does.
    func stat(_ components: [String], followFinal: Bool, in fs: Filesystem) throws -> FileStat {
        let d = try resolve(components, followFinal: followFinal, in: fs)
        try fs.refresh(d)
        return FileStat(qid: d.qid, attr: d.attr)
    }
}
