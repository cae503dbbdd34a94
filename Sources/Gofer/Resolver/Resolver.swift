import P9
import SystemPackage

/// How a `Filesystem` turns paths into dentries: chosen once, at init, from `FilesystemOptions.resolver`.
///
/// Every requirement runs with the filesystem's `tree` held shared and its `lock` held, and sends RPCs through
/// `Filesystem.rpc` (the lock released, the dentry whose fid is used pinned). A resolver keeps no state of
/// its own about files: dentries, fids and caches live in the filesystem, whose helpers (`lookup`,
/// `revalidatingWalk`, `refresh`, `walkedFid`, `mayAccess`) the resolvers share.
protocol Resolver: Sendable {
    /// The dentry `components` name from the root: intermediate symlinks followed, the final one when `followFinal`.
    func resolve(_ components: [String], followFinal: Bool, in fs: Filesystem) throws -> Dentry

    /// The child `name` of the directory `dir`, cached, revalidated or looked up as the mode asks (ENOENT when missing).
    func child(_ name: String, of dir: Dentry, in fs: Filesystem) throws -> Dentry

    /// What stat(2) of `components` returns.
    func stat(_ components: [String], followFinal: Bool, in fs: Filesystem) throws -> FileStat

    /// What stat(2) of `path` returns (by default: its components' stat).
    func stat(path: String, followFinal: Bool, in fs: Filesystem) throws -> FileStat

    /// A fid naming `d`, for the operations that send RPCs on it (open, create, unlink, rename, readdir, setattr).
    func fid(of d: Dentry, in fs: Filesystem) throws -> ClientFile

    /// Opens `components` by the resolver's own route, or returns nil to let the filesystem resolve and open it.
    func open(_ components: [String], _ request: OpenRequest, in fs: Filesystem) throws -> OpenFile?

    /// Asked once, after attach: a host descriptor of the root to resolve beneath (the filesystem owns it), or nil.
    func donatedRoot(of root: ClientFile, uid: UInt32) -> FileDescriptor?

    /// Makes `change` by the resolver's own route; false lets the filesystem send its RPCs.
    func apply(_ change: PathChange, in fs: Filesystem) throws -> Bool

    /// readlink(2) of `components` by the resolver's own route, or nil to let the filesystem send its RPCs.
    func readlink(_ components: [String], in fs: Filesystem) throws -> String?

    /// The listing of `components` by the resolver's own route, or nil to let the filesystem send its RPCs.
    func readdir(_ components: [String], in fs: Filesystem) throws -> [DirectoryEntry]?
}

extension Resolver {
    /// The attributes the resolution left on the dentry: no RPC of its own.
    func stat(_ components: [String], followFinal: Bool, in fs: Filesystem) throws -> FileStat {
        let d = try resolve(components, followFinal: followFinal, in: fs)
        return FileStat(qid: d.qid, attr: d.attr)
    }

    /// Splits `path` and asks `stat(_:followFinal:in:)`.
    func stat(path: String, followFinal: Bool, in fs: Filesystem) throws -> FileStat {
        try stat(try pathComponents(path), followFinal: followFinal, in: fs)
    }

    /// The dentry's own fid, or one walked from its nearest ancestor holding a fid.
    func fid(of d: Dentry, in fs: Filesystem) throws -> ClientFile { try fs.walkedFid(d) }

    /// No route of its own: the filesystem resolves the path and opens the dentry.
    func open(_ components: [String], _ request: OpenRequest, in fs: Filesystem) throws -> OpenFile? { nil }

    /// No descriptor wanted: every operation goes over 9P.
    func donatedRoot(of root: ClientFile, uid: UInt32) -> FileDescriptor? { nil }

    /// No route of its own: the filesystem sends the change's RPCs.
    func apply(_ change: PathChange, in fs: Filesystem) throws -> Bool { false }

    /// No route of its own: Treadlink, or the cached target.
    func readlink(_ components: [String], in fs: Filesystem) throws -> String? { nil }

    /// No route of its own: Treaddir, or the cached listing.
    func readdir(_ components: [String], in fs: Filesystem) throws -> [DirectoryEntry]? { nil }

    /// Resolves `components` from `start` one `child` at a time, following symlinks (at most 40).
    func walk(_ components: [String], from start: Dentry, followFinal: Bool, in fs: Filesystem) throws -> Dentry {
        var d = start
        var remaining = components[...]
        var followed = 0
        while let name = remaining.first {
            remaining = remaining.dropFirst()
            if name == "." { continue }
            if name == ".." { d = d.parent ?? fs.root; continue }
            guard d.isDirectory else { throw Errno.notDirectory }
            guard fs.mayAccess(d, .execute) else { throw Errno.permissionDenied }
            let next = try child(name, of: d, in: fs)
            if next.isSymlink && (!remaining.isEmpty || followFinal) {
                followed += 1
                guard followed <= 40 else { throw Errno.tooManySymbolicLinkLevels }
                let target = try fs.symlinkTarget(of: next)
                if target.hasPrefix("/") { d = fs.root }
                remaining = target.split(separator: "/").map(String.init)[...] + remaining
                continue
            }
            d = next
        }
        return d
    }
}

/// The resolver `options` ask for; throws when the options rule it out.
func makeResolver(for options: FilesystemOptions) throws -> any Resolver {
    switch options.resolver {
    case .vfs2: return VFS2Resolver()
    case .vfs1: return try VFS1Resolver(mode: options.mode)
    case .multi: return MultiResolver()
    case .direct: return DirectResolver()
    }
}
