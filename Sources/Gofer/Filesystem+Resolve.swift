import P9
import SystemPackage

/// Permission bits asked of a file.
struct Access: OptionSet {
    let rawValue: UInt32
    static let read = Access(rawValue: 4)
    static let write = Access(rawValue: 2)
    static let execute = Access(rawValue: 1)
}

extension Filesystem {
    /// Resolves `path` to a dentry (caller holds `lock`). Intermediate symlinks are followed; the final one when `followFinal`.
    func resolve(_ path: String, followFinal: Bool = true) throws -> Dentry {
        try resolve(components: try pathComponents(path), followFinal: followFinal)
    }

    /// Resolves components from the root.
    func resolve(components: [String], followFinal: Bool = true) throws -> Dentry {
        if options.resolver == .multi, let d = try resolveMulti(components, followFinal: followFinal) { return d }
        var d = root
        // Shared mode refreshes the start's attributes once (its permission check); VFS1 does it per step.
        if options.mode == .shared && options.resolver != .vfs1 { try refresh(d) }
        var remaining = components[...]
        var followed = 0
        while let name = remaining.first {
            remaining = remaining.dropFirst()
            if name == "." { continue }
            if name == ".." { d = d.parent ?? root; continue }
            guard d.isDirectory else { throw Errno.notDirectory }
            guard mayAccess(d, .execute) else { throw Errno.permissionDenied }
            let child = try step(d, name)
            if child.isSymlink && (!remaining.isEmpty || followFinal) {
                followed += 1
                guard followed <= 40 else { throw Errno.tooManySymbolicLinkLevels }
                let target = try symlinkTarget(of: child)
                if target.hasPrefix("/") { d = root }
                remaining = target.split(separator: "/").map(String.init)[...] + remaining
                continue
            }
            d = child
        }
        return d
    }

    /// One path component, by the configured resolver and mode.
    func step(_ d: Dentry, _ name: String) throws -> Dentry {
        if options.resolver == .vfs1 { return try stepVFS1(d, name) }
        if options.mode == .shared { return try stepShared(d, name) }
        if let c = d.children[name] {
            touch(c)
            return c
        }
        if d.negative.contains(name) { throw Errno.noSuchFileOrDirectory }
        return try lookup(d, name)
    }

    /// VFS2 Shared: one Twalkgetattr revalidates the cached child, refreshes its attributes and looks it up if new.
    func stepShared(_ d: Dentry, _ name: String) throws -> Dentry {
        guard let cachedChild = d.children[name] else { return try lookup(d, name) }
        let r = try revalidatingWalk(d, cachedChild)
        if let q = r.qids.last, cachedChild.matches(q) {
            cachedChild.attr = r.attr
            try r.file.clunk()  // the cached dentry keeps its own fid
            touch(cachedChild)
            return cachedChild
        }
        // Replaced on the server: the new fid becomes the new dentry's; the stale one is released later.
        let child = Dentry(parent: d, name: name, qid: r.qids.last ?? cachedChild.qid, attr: r.attr, fid: r.file)
        insert(child, into: d)
        return child
    }

    /// VFS1 cacheRemoteRevalidating: Tgetattr(dir) for the permission check, Twalkgetattr+Tclunk to revalidate, lookup when needed.
    func stepVFS1(_ d: Dentry, _ name: String) throws -> Dentry {
        try refresh(d)
        guard mayAccess(d, .execute) else { throw Errno.permissionDenied }
        if let cachedChild = d.children[name] {
            let r = try revalidatingWalk(d, cachedChild)
            try r.file.clunk()
            if let q = r.qids.last, cachedChild.matches(q) {
                cachedChild.attr = r.attr
                touch(cachedChild)
                return cachedChild
            }
            markStale(cachedChild)
        }
        return try lookup(d, name)
    }

    /// Twalkgetattr of a cached child's name; ENOENT leaves the child stale.
    private func revalidatingWalk(_ d: Dentry, _ cachedChild: Dentry) throws -> (qids: [QID], file: ClientFile, valid: AttrMask, attr: Attr) {
        do {
            return try requireFid(d).walkGetAttr([cachedChild.name])
        } catch where errnoOf(error) == .noSuchFileOrDirectory {
            markStale(cachedChild)
            throw Errno.noSuchFileOrDirectory
        }
    }

    /// Twalkgetattr of a name not cached: a new dentry holding the new fid (or a cached negative entry).
    func lookup(_ d: Dentry, _ name: String) throws -> Dentry {
        let r: (qids: [QID], file: ClientFile, valid: AttrMask, attr: Attr)
        do {
            r = try requireFid(d).walkGetAttr([name])
        } catch where errnoOf(error) == .noSuchFileOrDirectory {
            if let old = d.children[name] { markStale(old) }
            if options.cachesMetadata { d.negative.insert(name) }
            throw Errno.noSuchFileOrDirectory
        }
        guard let q = r.qids.last else {
            try? r.file.clunk()
            throw P9Error.protocolViolation("walk of one name returned no QID")
        }
        let child = Dentry(parent: d, name: name, qid: q, attr: r.attr, fid: r.file)
        insert(child, into: d)
        return child
    }

    /// Tgetattr into the cached attributes.
    func refresh(_ d: Dentry) throws {
        let r = try requireFid(d).getAttr(.all)
        d.attr = r.attr
    }

    /// The dentry's fid, walking one from the nearest ancestor that has one (fid-less dentries of the multi resolver).
    func requireFid(_ d: Dentry) throws -> ClientFile {
        if let f = d.fid { return f }
        let f = try walkFromNearestFid(d)
        d.fid = f
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
        return try start.walk(names.reversed()).file
    }

    /// The symlink target, from the cache where the mode allows.
    func symlinkTarget(of d: Dentry) throws -> String {
        if options.cachesMetadata, let t = d.symlinkTarget { return t }
        let t = try requireFid(d).readlink()
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
