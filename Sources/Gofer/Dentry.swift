import P9
import Synchronization

/// A cached file of the filesystem: identity, attributes, fid, and what the mode lets it cache.
///
/// Every field is guarded by the owning `Filesystem`'s `lock`; the page cache's contents by `data`.
final class Dentry {
    /// The parent (nil for the root), held strongly as gVisor's dentries hold theirs: a weak reference would give
    /// every directory a refcount side table, and a path walk's retains of it cost a third of a warm stat's CPU.
    /// The cycle with the parent's `children` is broken when a child leaves the tree, and by `Filesystem.deinit`.
    var parent: Dentry?
    /// Name in the parent.
    var name: String
    /// The server's identity of the file; `qid.path` is the inode number.
    var qid: QID
    /// Cached attributes.
    var attr: Attr
    /// A walked (unopened) fid naming this file; nil for a fid-less dentry of the multi resolver.
    var fid: ClientFile?
    /// Cached children by name.
    var children: [String: Dentry] = [:]
    /// Names known not to exist (Exclusive/Writethrough only).
    var negative: Set<String> = []
    /// Cached directory listing (Exclusive/Writethrough only).
    var listing: [DirectoryEntry]? { didSet { if listing == nil { changes &+= 1 } } }
    /// Bumped whenever the directory's contents change (every change drops `listing`): an answer from an RPC sent
    /// before a change is not cached.
    var changes: UInt64 = 0
    /// Cached symlink target (not in Shared).
    var symlinkTarget: String?
    /// The open handle shared by this file's open descriptions (regular files).
    var handle: Handle?
    /// The handles holding each process's byte-range locks on this file (by pid), closed with its last description.
    var lockHandles: [Int32: Handle] = [:]
    /// Opened directory fid used for Treaddir.
    var directoryHandle: Handle?
    /// Open descriptions referring to this dentry; a referenced dentry is never evicted.
    var openCount = 0
    /// Explicitly set timestamps still to be written back (Exclusive/Writethrough).
    var pendingATime: Timespec?
    var pendingMTime: Timespec?
    /// Page cache for data without a host FD (Exclusive/Writethrough); its contents are guarded by `data`.
    var pages: PageCache?
    /// Guards the page cache's contents, held across its RPCs (after `lock`, never before it).
    let data = DataLock()
    /// RPCs in flight on this dentry's fid or handles with `lock` released: a pinned dentry is not released.
    var pins = 0
    /// True once replaced or removed on the server: kept only for its open descriptions.
    var isStale = false
    /// Logical time of the last use, for LRU eviction.
    /// Atomic: the cached-stat fast path touches dentries with `lock` held shared.
    let lastUse = Atomic<UInt64>(0)

    init(parent: Dentry?, name: String, qid: QID, attr: Attr, fid: ClientFile?) {
        self.parent = parent
        self.name = name
        self.qid = qid
        self.attr = attr
        self.fid = fid
    }

    var isDirectory: Bool { qid.type.contains(.directory) || attr.isDirectory }
    var isSymlink: Bool { qid.type.contains(.symlink) || attr.isSymlink }

    /// True when the server's answer names the same file this dentry caches.
    func matches(_ other: QID) -> Bool { qid.path == other.path && qid.type == other.type }

    /// The path from the root, for messages.
    var path: String {
        var parts: [String] = []
        var d: Dentry? = self
        while let cur = d, let p = cur.parent {
            parts.append(cur.name)
            d = p
        }
        return "/" + parts.reversed().joined(separator: "/")
    }
}
