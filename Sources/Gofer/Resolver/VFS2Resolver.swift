import P9
import SystemPackage

/// VFS2's resolution: revalidation, permission refresh and lookup fused into one Twalkgetattr per component.
///
/// Exclusive and Writethrough trust cached dentries and negative entries (no RPC); Shared refreshes the start's
/// attributes with one Tgetattr and revalidates every cached component with a Twalkgetattr.
struct VFS2Resolver: Resolver {
    func resolve(_ components: [String], followFinal: Bool, in fs: Filesystem) throws -> Dentry {
        // Shared refreshes the start's attributes once, for its permission check.
        if fs.options.mode == .shared { try fs.refresh(fs.root) }
        return try walk(components, from: fs.root, followFinal: followFinal, in: fs)
    }

    func child(_ name: String, of dir: Dentry, in fs: Filesystem) throws -> Dentry {
        if fs.options.mode == .shared { return try revalidatedChild(name, of: dir, in: fs) }
        if let c = dir.children[name] {
            fs.touch(c)
            return c
        }
        if dir.negative.contains(name) { throw Errno.noSuchFileOrDirectory }
        return try fs.lookup(name, in: dir)
    }

    /// Shared: one Twalkgetattr revalidates the cached child, refreshes its attributes and looks it up if new.
    private func revalidatedChild(_ name: String, of dir: Dentry, in fs: Filesystem) throws -> Dentry {
        guard let cachedChild = dir.children[name] else { return try fs.lookup(name, in: dir) }
        let r = try fs.revalidatingWalk(dir, cachedChild)
        if let q = r.qids.last, cachedChild.matches(q) {
            cachedChild.attr = r.attr
            try fs.rpc(nil) { try r.file.clunk() }  // the cached dentry keeps its own fid
            fs.touch(cachedChild)
            return cachedChild
        }
        // Replaced on the server: the new fid becomes the new dentry's; the stale one is released later.
        let child = Dentry(parent: dir, name: name, qid: r.qids.last ?? cachedChild.qid, attr: r.attr, fid: r.file)
        fs.insert(child, into: dir)
        return child
    }
}
