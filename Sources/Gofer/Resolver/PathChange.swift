import P9

/// A change to the tree a resolver may make by its own route (`Resolver.apply`): paths already split into
/// components, `..` resolved lexically.
enum PathChange {
    /// mkdir(2) of `name` in `parent`.
    case mkdir(parent: [String], name: String, mode: UInt32)
    /// unlink(2), or rmdir(2) when `directory`.
    case remove(parent: [String], name: String, directory: Bool)
    /// symlink(2): `name` in `parent` pointing at `target`.
    case symlink(parent: [String], name: String, target: String)
    /// rename(2).
    case rename(oldParent: [String], oldName: String, newParent: [String], newName: String)
    /// truncate(2), following a final symlink.
    case truncate([String], size: UInt64)
    /// chmod(2) of the permission bits, following a final symlink.
    case chmod([String], mode: UInt32)
    /// utimensat(2) with explicit times (nil: left as is), following a final symlink.
    case setTimes([String], atime: Timespec?, mtime: Timespec?)
}
