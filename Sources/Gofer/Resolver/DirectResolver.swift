import Glibc
import P9
import SystemPackage

/// gVisor's directfs (2023): the client resolves paths itself, beneath a root descriptor the server donates once
/// (Tdonateroot), with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS); stat is statx, open is openat2 (the host
/// descriptor is the handle's; no fid), and the changes are *at syscalls. No RPC is sent for any of them.
///
/// Exclusive and Writethrough cache as the other resolvers do: dentries (fid-less), negative entries, listings,
/// symlink targets and handles are trusted. A path through a symlink is resolved by the kernel each time and not
/// cached, so the cached tree holds no aliases. Shared caches nothing: the host is asked on every call, which is
/// its revalidation. Explicit timestamps are written at once in every mode (a syscall, not a deferred RPC).
///
/// Where the server donated nothing (a plain 9P2000.L server such as diod, TCP, a read-only export, an attach
/// identity other than this process's) every operation takes the vfs2 route, RPC for RPC. With a root, the
/// operations that need the server still take it: statfs, opening a directory or special file, and opens with
/// `hostFDs` off (the 9P data path).
struct DirectResolver: Resolver {
    /// The route without a donated root, and for what needs the server.
    private let viaServer = VFS2Resolver()

    func resolve(_ components: [String], followFinal: Bool, in fs: Filesystem) throws -> Dentry {
        try viaServer.resolve(components, followFinal: followFinal, in: fs)
    }

    func child(_ name: String, of dir: Dentry, in fs: Filesystem) throws -> Dentry {
        try viaServer.child(name, of: dir, in: fs)
    }

    /// The server's root descriptor, asked for only when host syscalls would act as the attach identity.
    func donatedRoot(of root: ClientFile, uid: UInt32) -> FileDescriptor? {
        // The host checks permissions against this process's credentials: they must be the attach identity's.
        guard uid == geteuid(), let fd = try? root.donateRoot().hostFD else { return nil }
        guard let st = try? HostRoot.stat(fd), st.attr.isDirectory else {
            try? fd.close()
            return nil
        }
        return fd
    }

    /// Shared: a path already in canonical form goes to the host as it is (past its leading slashes), unsplit.
    func stat(path: String, followFinal: Bool, in fs: Filesystem) throws -> FileStat {
        if !fs.options.cachesMetadata, let host = fs.host, let start = canonicalStart(path) {
            let (qid, attr) = try fs.hostDirs.map { dirs throws(Errno) in
                try dirs.stat(path, dropping: start, follow: followFinal, root: host.fd)
            } ?? host.stat(path, dropping: start, follow: followFinal)
            return FileStat(qid: qid, attr: attr)
        }
        return try stat(try pathComponents(path), followFinal: followFinal, in: fs)
    }

    func stat(_ components: [String], followFinal: Bool, in fs: Filesystem) throws -> FileStat {
        guard let host = fs.host else { return try viaServer.stat(components, followFinal: followFinal, in: fs) }
        if fs.options.cachesMetadata, let d = try cached(components, followFinal: followFinal, host, fs) {
            return FileStat(qid: d.qid, attr: d.attr)
        }
        let (qid, attr) = try host.stat(host.joined(components), follow: followFinal)
        return FileStat(qid: qid, attr: attr)
    }

    func readlink(_ components: [String], in fs: Filesystem) throws -> String? {
        try hostValue(components, followFinal: false, in: fs, kept: \.symlinkTarget, wrongKind: { $0.isSymlink ? nil : .invalidArgument },
                      read: { try $0.readlink(components) })
    }

    func readdir(_ components: [String], in fs: Filesystem) throws -> [DirectoryEntry]? {
        try hostValue(components, followFinal: true, in: fs, kept: \.listing, wrongKind: { $0.isDirectory ? nil : .notDirectory },
                      read: { try $0.readdir(components) })
    }

    /// What `read` gives for `components` on the host (nil without one), kept in the cached dentry's `kept` where the
    /// mode caches metadata; `wrongKind` names the error for a cached dentry of another kind.
    private func hostValue<T>(_ components: [String], followFinal: Bool, in fs: Filesystem, kept: ReferenceWritableKeyPath<Dentry, T?>,
                              wrongKind: (Dentry) -> Errno?, read: (HostRoot) throws -> T) throws -> T? {
        guard let host = fs.host else { return nil }
        guard fs.options.cachesMetadata, let d = try cached(components, followFinal: followFinal, host, fs) else {
            return try read(host)
        }
        if let e = wrongKind(d) { throw e }
        if let v = d[keyPath: kept] { return v }
        let v = try read(host)
        d[keyPath: kept] = v
        return v
    }

    // MARK: the cached tree (Exclusive, Writethrough)

    /// The cached dentry `components` names, looking up what is missing on the host one component at a time and
    /// caching it; nil when the path crosses a symlink (the caller lets the kernel resolve the whole path).
    ///
    /// A cached component is trusted; a missing one is looked up with symlinks refused on the way (its prefix is
    /// cached as directories), so a host that put a symlink there since also gives nil.
    func cached(_ components: [String], followFinal: Bool, _ host: HostRoot, _ fs: Filesystem) throws -> Dentry? {
        var d = fs.root
        for (i, name) in components.enumerated() {
            guard d.isDirectory else { throw Errno.notDirectory }
            guard fs.mayAccess(d, .execute) else { throw Errno.permissionDenied }
            let next: Dentry
            if let c = d.children[name] {
                fs.touch(c)
                next = c
            } else {
                if d.negative.contains(name) { throw Errno.noSuchFileOrDirectory }
                // The prefix is cached as directories: a symlink on the way now means the host changed under us.
                switch try lookup(host.joined(Array(components[...i])), host) {
                case .throughSymlink: return nil
                case .missing:
                    d.negative.insert(name)
                    throw Errno.noSuchFileOrDirectory
                case let .found(qid, attr):
                    next = Dentry(parent: d, name: name, qid: qid, attr: attr, fid: nil)
                    fs.insert(next, into: d)
                }
            }
            if next.isSymlink && (i < components.count - 1 || followFinal) { return nil }
            d = next
        }
        return d
    }

    /// What the host says of one more component of a symlink-free cached prefix.
    private enum Lookup {
        case found(QID, Attr)
        case missing
        case throughSymlink
    }

    /// lstat of `path` with symlinks refused on the way.
    private func lookup(_ path: String, _ host: HostRoot) throws -> Lookup {
        do {
            let st = try host.stat(path, follow: false, resolve: HostRoot.beneathNoSymlinks)
            return .found(st.qid, st.attr)
        } catch .noSuchFileOrDirectory {
            return .missing
        } catch .tooManySymbolicLinkLevels {
            return .throughSymlink
        }
    }

    /// Where a change to `components` lands in the cache: nothing in Shared, the cached dentry, or unknown when the
    /// path crosses a symlink (then every cached dentry is dropped after the change: one of them may alias it).
    func site(_ components: [String], _ host: HostRoot, _ fs: Filesystem) throws -> CacheSite {
        guard fs.options.cachesMetadata else { return .none }
        guard let d = try cached(components, followFinal: true, host, fs) else { return .unknown }
        return .dentry(d)
    }
}

/// Where a direct change lands in the dentry cache.
enum CacheSite {
    /// Shared: nothing is cached.
    case none
    /// The cached dentry the path names.
    case dentry(Dentry)
    /// Cached, but the path crosses a symlink: which cached dentries alias it is unknown.
    case unknown

    /// The dentry, when there is one.
    var dentry: Dentry? {
        if case let .dentry(d) = self { return d }
        return nil
    }
}

extension Filesystem {
    /// The donated root, when the direct resolver has one (nil after release).
    var host: HostRoot? { donatedRoot.map(HostRoot.init(fd:)) }
}
