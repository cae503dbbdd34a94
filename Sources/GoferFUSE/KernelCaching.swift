import Gofer

/// What the kernel may cache through FUSE, chosen so each InteropMode's semantics hold end to end.
public struct KernelCaching: Sendable, Equatable {
    /// Seconds the kernel trusts a name's entry (and a missing name, where `negativeEntries`).
    public var entryTimeout: Double
    /// Seconds the kernel trusts an inode's attributes.
    public var attrTimeout: Double
    /// Whether a missing name is cached for `entryTimeout` (only where the client caches negative lookups).
    public var negativeEntries: Bool
    /// Whether an open keeps the kernel's page cache of the file (only where the mode caches data).
    public var keepCache: Bool
    /// Whether the kernel may cache directory listings (only where the mode caches listings).
    public var cacheDirectories: Bool

    /// Exclusive and Writethrough trust their caches for long; Shared and cacheNone trust nothing (timeouts 0).
    public init(options: FilesystemOptions) {
        let caches = options.mode != .shared
        entryTimeout = caches ? 3600 : 0
        attrTimeout = caches ? 3600 : 0
        negativeEntries = caches
        keepCache = caches && !options.specialRegularFiles
        cacheDirectories = caches
    }
}
