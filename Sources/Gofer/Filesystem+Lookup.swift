import P9
import SystemPackage

/// Permission bits asked of a file.
struct Access: OptionSet {
    let rawValue: UInt32
    static let read = Access(rawValue: 4)
    static let write = Access(rawValue: 2)
    static let execute = Access(rawValue: 1)
}

/// What the resolvers share: the entry points the operations call and the single-name RPC helpers.
extension Filesystem {
    /// Resolves `path` to a dentry by the filesystem's resolver (caller holds `tree` shared and `lock`).
    func resolve(_ path: String, followFinal: Bool = true) throws -> Dentry {
        try resolver.resolve(try pathComponents(path), followFinal: followFinal, in: self)
    }

    /// Resolves components from the root by the filesystem's resolver (caller holds `lock`).
    func resolve(components: [String], followFinal: Bool = true) throws -> Dentry {
        try resolver.resolve(components, followFinal: followFinal, in: self)
    }

    /// A directory about to change: resolved, checked for write and search permission.
    func resolveDirectoryForChange(_ components: [String]) throws -> Dentry {
        let d = try resolve(components: components)
        guard d.isDirectory else { throw Errno.notDirectory }
        guard mayAccess(d, [.write, .execute]) else { throw Errno.permissionDenied }
        return d
    }

    /// A fid naming `d`, from the resolver.
    func fid(of d: Dentry) throws -> ClientFile { try resolver.fid(of: d, in: self) }

    /// Twalkgetattr of a name not cached: a new dentry holding the new fid (or a cached negative entry).
    ///
    /// When another thread cached the same file during the RPC, its dentry is kept and the new fid clunked.
    func lookup(_ name: String, in dir: Dentry) throws -> Dentry {
        let before = dir.children[name]
        let changes = dir.changes
        let dirFid = try fid(of: dir)
        let r: (qids: [QID], file: ClientFile, valid: AttrMask, attr: Attr)
        do {
            r = try rpc(dir) { try dirFid.walkGetAttr([name]) }
        } catch P9Error.remote(.noSuchFileOrDirectory) {
            guard dir.changes == changes else { throw Errno.noSuchFileOrDirectory }
            if let old = dir.children[name] { markStale(old) }
            if options.cachesMetadata { dir.negative.insert(name) }
            throw Errno.noSuchFileOrDirectory
        }
        guard let q = r.qids.last else {
            try? rpc(nil) { try r.file.clunk() }
            throw P9Error.protocolViolation("walk of one name returned no QID")
        }
        if let raced = dir.children[name], raced !== before, raced.matches(q) {
            raced.attr = r.attr
            try? rpc(nil) { try r.file.clunk() }
            touch(raced)
            return raced
        }
        let child = Dentry(parent: dir, name: name, qid: q, attr: r.attr, fid: r.file)
        guard dir.changes == changes else {
            // The directory changed during the RPC: the answer serves this operation but is not cached.
            child.isStale = true
            staleQueue.append(child)
            return child
        }
        insert(child, into: dir)
        return child
    }

    /// Twalkgetattr of a cached child's name (to compare QIDs); ENOENT leaves the child stale.
    func revalidatingWalk(_ dir: Dentry, _ cachedChild: Dentry) throws -> (qids: [QID], file: ClientFile, valid: AttrMask, attr: Attr) {
        let dirFid = try fid(of: dir)
        let name = cachedChild.name
        do {
            return try rpc(dir) { try dirFid.walkGetAttr([name]) }
        } catch P9Error.remote(.noSuchFileOrDirectory) {
            markStale(cachedChild)
            throw Errno.noSuchFileOrDirectory
        }
    }

    /// Tgetattr into the cached attributes.
    func refresh(_ d: Dentry) throws {
        let f = try fid(of: d)
        let r = try rpc(d) { try f.getAttr(.all) }
        d.attr = r.attr
    }

    /// The dentry's fid, walking one from the nearest ancestor that has one when it is fid-less (and keeping it).
    func walkedFid(_ d: Dentry) throws -> ClientFile {
        if let f = d.fid { return f }
        // Pinned during the walk: an eviction meanwhile would drop `d` and the fid set on it below with it.
        d.pins += 1
        defer { d.pins -= 1 }
        let f = try walkFromNearestFid(d)
        if let raced = d.fid {
            // Another thread walked one during the RPC.
            try? rpc(nil) { try f.clunk() }
            return raced
        }
        d.fid = f
        if d !== root && !d.isStale && cached[ObjectIdentifier(d)] == nil {
            // Evicted before this walk (a caller held it unpinned across another RPC): off the tree, so the stale
            // queue releases the fid, as for a dentry replaced on the server.
            d.isStale = true
            staleQueue.append(d)
        }
        return f
    }

    /// A new fid for `d`: one multi-name Twalk (split at 16 names) from the nearest ancestor holding a fid.
    func walkFromNearestFid(_ d: Dentry) throws -> ClientFile {
        var names: [String] = []
        var a: Dentry = d
        while a.fid == nil, let p = a.parent {
            names.append(a.name)
            a = p
        }
        guard let start = a.fid else { throw Errno.badFileDescriptor }
        let path = Array(names.reversed())
        return try rpc(a) { try start.walk(path).file }
    }

    /// The symlink target, from the cache where the mode allows.
    func symlinkTarget(of d: Dentry) throws -> String {
        if options.cachesMetadata, let t = d.symlinkTarget { return t }
        let f = try fid(of: d)
        let t = try rpc(d) { try f.readlink() }
        if options.cachesMetadata { d.symlinkTarget = t }
        return t
    }

    /// Owner/group/other permission check against the attach identity, on cached attributes.
    func mayAccess(_ d: Dentry, _ want: Access) -> Bool {
        let mode = d.attr.mode
        if uid == 0 {
            // Root may do anything but execute a file with no execute bit at all.
            if want.contains(.execute) && !d.isDirectory { return mode & 0o111 != 0 }
            return true
        }
        let bits: UInt32
        if d.attr.uid == uid { bits = (mode >> 6) & 7 } else if gids.contains(d.attr.gid) { bits = (mode >> 3) & 7 } else { bits = mode & 7 }
        return bits & want.rawValue == want.rawValue
    }
}
