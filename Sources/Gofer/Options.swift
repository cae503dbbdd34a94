import P9

/// What the client may cache and who owns timestamps (gVisor's InteropMode).
public enum InteropMode: String, Sendable, CaseIterable {
    /// The client is the only user of the remote files: cache everything, trust it, write data back lazily.
    case exclusive
    /// Like exclusive, but every write goes to the server at once.
    case writethrough
    /// Others may change the remote files: revalidate on every walk, cache no data.
    case shared
}

/// How paths are resolved.
public enum ResolverKind: String, Sendable, CaseIterable {
    /// VFS2: revalidation, permission refresh and lookup fused into one Twalkgetattr per component.
    case vfs2
    /// VFS1's cacheRemoteRevalidating baseline: Tgetattr + Twalkgetattr(+Tclunk) per component, final Tgetattr.
    case vfs1
    /// One Tmultigetattr for the whole path; fid-less dentries get a fid only when an operation needs one.
    case multi
    /// directfs: the client resolves paths itself with openat2(RESOLVE_BENEATH) under a root descriptor the server
    /// donates once, and uses *at syscalls instead of RPCs; the vfs2 route where nothing was donated.
    case direct
}

/// How the 9P data path handles a BlockSeq of several blocks.
public enum MultiBlockStrategy: String, Sendable, CaseIterable {
    /// One temporary buffer per transfer, copied to or from the blocks with copySeq: one payload copy.
    case buffered
    /// Receive/send straight into/from the blocks (readv/writev), no extra copy.
    case scatter
}

/// Options of a `Filesystem`.
public struct FilesystemOptions: Sendable {
    /// Caching and timestamp policy.
    public var mode: InteropMode = .exclusive
    /// cacheNone: every open gets its own handle and nothing is cached (use with `.shared`).
    public var specialRegularFiles = false
    /// Path resolution strategy.
    public var resolver: ResolverKind = .vfs2
    /// Cached dentries kept before the least recently used unreferenced ones are released.
    public var maxCachedDentries = 1000
    /// Use host FDs the server donates (false forces every read and write over 9P).
    public var hostFDs = true
    /// Multi-block 9P data path.
    public var multiblock: MultiBlockStrategy = .buffered
    /// Readahead for the data cache, in bytes.
    public var readahead = 64 * 1024

    /// Options with the defaults above unless given.
    public init(mode: InteropMode = .exclusive, specialRegularFiles: Bool = false, resolver: ResolverKind = .vfs2,
                maxCachedDentries: Int = 1000, hostFDs: Bool = true, multiblock: MultiBlockStrategy = .buffered) {
        self.mode = mode
        self.specialRegularFiles = specialRegularFiles
        self.resolver = resolver
        self.maxCachedDentries = maxCachedDentries
        self.hostFDs = hostFDs
        self.multiblock = multiblock
    }

    /// cacheNone: Shared plus a handle per open.
    public static var cacheNone: FilesystemOptions { FilesystemOptions(mode: .shared, specialRegularFiles: true) }

    /// True when dentries, negative lookups, listings and symlink targets are trusted without RPCs.
    var cachesMetadata: Bool { mode != .shared }
    /// True when regular-file data without a host FD goes through the client's page cache.
    var cachesData: Bool { mode != .shared && !specialRegularFiles }
}
