import Foundation
import P9
import SafeMem
import Synchronization
import SystemPackage

/// The gofer client filesystem (gVisor VFS2 `gofer.filesystem`) over one 9P connection.
///
/// Safe to call from many threads: path operations share `tree` (renames take it exclusively), in-memory state is
/// guarded by `lock`, which no RPC is sent under, and page caches by their dentry's `data` (order: Locks.swift).
public final class Filesystem: @unchecked Sendable {  // mutable state guarded by `lock` (shape also by `tree`)
    /// The connection.
    public let client: Client
    /// The options it was made with.
    public let options: FilesystemOptions
    /// Copies, page-cache hits and misses, and write-backs of the data paths, counted since init.
    public var stats: FilesystemStats { counters.snapshot }
    /// The live counts behind `stats`, shared with the handles and page caches.
    let counters = StatsCounters()
    /// The dentries' in-memory state and the cache's maps; released around every RPC of a path operation.
    let lock = StateLock()
    /// The tree's shape: shared by path operations, exclusive for renames and whole-cache work.
    let tree = TreeLock()
    /// How paths become dentries, chosen from `options.resolver`.
    let resolver: any Resolver
    let root: Dentry
    /// The attach identity used for permission checks.
    let uid: UInt32
    let gids: Set<UInt32>
    /// Every cached dentry but the root, for LRU eviction.
    var cached: [ObjectIdentifier: Dentry] = [:]
    /// Stale dentries whose fids are released by `reclaim()`, outside operations.
    var staleQueue: [Dentry] = []
    /// The O_PATH descriptor of the attach root the server donated for the direct resolver (nil: none; closed on release).
    var donatedRoot: FileDescriptor?
    /// The descriptors Shared direct stats keep beneath `donatedRoot` (nil: none; set and cleared with it).
    var hostDirs: HostDirCache?
    /// Logical clock of dentry uses (atomic: the fast path touches with `lock` held shared).
    let tick = Atomic<UInt64>(0)
    private var isReleased = false

    /// Attaches to `aname` on `client` and makes a filesystem with `options`.
    public init(client: Client, options: FilesystemOptions = FilesystemOptions(), aname: String = "",
                uname: String? = nil, nUname: UInt32? = nil) throws(GoferError) {
        resolver = try GoferError.mapping("filesystem options") { try makeResolver(for: options) }
        self.client = client
        self.options = options
        let rootFile = try GoferError.mapping("attach \"\(aname)\"") {
            try client.attach(aname: aname, uname: uname, nUname: nUname)
        }
        let got = try GoferError.mapping("getattr of the root of \"\(aname)\"") {
            do {
                return try rootFile.getAttr(.all)
            } catch {
                try? rootFile.clunk()
                throw error
            }
        }
        root = Dentry(parent: nil, name: "", qid: got.qid, attr: got.attr, fid: rootFile)
        uid = nUname ?? client.options.nUname
        // The process's groups stand for the attach identity only when it is the process's own user.
        var groups: Set<UInt32> = []
        if uid == getuid() {
            groups.insert(getgid())
            let n = getgroups(0, nil)
            if n > 0 {
                var list = [gid_t](repeating: 0, count: Int(n))
                if getgroups(n, &list) == n { groups.formUnion(list) }
            }
        }
        gids = groups
        donatedRoot = resolver.donatedRoot(of: rootFile, uid: nUname ?? client.options.nUname)
        if donatedRoot != nil && !options.cachesMetadata { hostDirs = HostDirCache() }
    }

    deinit {
        release()
        // Dentries still in the tree (open when it was released) hold their parents: drop the parents' links to them.
        var pending = [root]
        while let d = pending.popLast() {
            pending.append(contentsOf: d.children.values)
            d.children = [:]
        }
    }

    // MARK: cache management

    /// Runs `body` under `lock`; a failure becomes a `GoferError` naming `operation` (the API's one error boundary).
    func locked<T>(_ operation: @autoclosure () -> String, _ body: () throws -> T) throws(GoferError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try GoferError.mapping(operation(), body)
    }

    /// A path operation: `tree` shared (exclusive for a rename), then `lock`, as `locked`.
    func pathOp<T>(_ operation: @autoclosure () -> String, exclusive: Bool = false,
                   _ body: () throws -> T) throws(GoferError) -> T {
        if exclusive { return try tree.exclusive { () throws(GoferError) -> T in try locked(operation(), body) } }
        return try tree.shared { () throws(GoferError) -> T in try locked(operation(), body) }
    }

    /// Runs the RPCs of `body` with `lock` released; `pinned` (whose fid or handle they use) is not released meanwhile.
    ///
    /// The caller holds `lock`; what it read before may have changed when `body` returns.
    func rpc<T>(_ pinned: Dentry?, _ body: () throws -> T) throws -> T {
        pinned?.pins += 1
        defer { pinned?.pins -= 1 }
        return try lock.withoutLock(body)
    }

    /// Writes dirty data and explicit timestamps back, then releases every cached dentry but the root.
    public func dropCaches() throws(GoferError) {
        try tree.exclusive { () throws(GoferError) in try locked("dropCaches") { try writeBackAndEvictAll() } }
    }

    /// `dropCaches` with the lock held.
    func writeBackAndEvictAll() throws {
        var firstError: Error?
        for child in Array(root.children.values) {
            do { try evictTree(child) } catch { firstError = firstError ?? error }
        }
        root.negative.removeAll()
        root.listing = nil
        root.symlinkTarget = nil
        hostDirs?.clear()
        do { try writeBack(root) } catch { firstError = firstError ?? error }
        drainStale()
        if let firstError { throw firstError }
    }

    /// Releases stale dentries (replaced or removed on the server) and trims the cache to its limit.
    ///
    /// Their fids are clunked here, not inside the operation that found them stale.
    public func reclaim() {
        tree.exclusive {
            lock.withLock {
                drainStale()
                trimCache()
            }
        }
    }

    /// Writes everything back and clunks every fid; the filesystem is unusable afterwards.
    public func release() {
        tree.exclusive { lock.withLock { releaseLocked() } }
    }

    private func releaseLocked() {
        guard !isReleased else { return }
        try? writeBackAndEvictAll()
        closeHandles(root)
        hostDirs = nil  // closes what it kept
        try? donatedRoot?.close()
        donatedRoot = nil
        try? root.fid?.clunk()
        root.fid = nil
        isReleased = true
    }

    /// Number of host descriptors (directories, and files stat'ed again) kept by Shared direct stats (0 in other modes).
    public var keptHostDescriptorCount: Int {
        tree.shared { hostDirs?.count ?? 0 }
    }

    /// Number of dentries cached (the root excluded).
    public var cachedDentryCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return cached.count
    }

    func touch(_ d: Dentry) {
        d.lastUse.store(tick.add(1, ordering: .relaxed).newValue, ordering: .relaxed)
    }

    /// `touch` for readers of the shared fast path: marks `d` as recent as the latest exclusive touch without moving
    /// the clock, and writes nothing when it already is (no line every reader writes; dentries touched since the
    /// clock last moved tie for eviction).
    func touchShared(_ d: Dentry) {
        let now = tick.load(ordering: .relaxed)
        if d.lastUse.load(ordering: .relaxed) != now { d.lastUse.store(now, ordering: .relaxed) }
    }

    /// Makes `child` a cached child of `parent`.
    func insert(_ child: Dentry, into parent: Dentry) {
        if let old = parent.children[child.name], old !== child { markStale(old) }
        parent.children[child.name] = child
        parent.negative.remove(child.name)
        cached[ObjectIdentifier(child)] = child
        touch(child)
        if cached.count > options.maxCachedDentries { trimCache() }
    }

    /// Detaches `d` (and its cached subtree) from the tree; fids are released later by `reclaim()`.
    func markStale(_ d: Dentry) {
        if let p = d.parent, p.children[d.name] === d { p.children[d.name] = nil }
        for c in Array(d.children.values) { markStale(c) }
        d.isStale = true
        cached[ObjectIdentifier(d)] = nil
        staleQueue.append(d)
        // reclaim() normally releases them outside operations; this bounds the fids a long loop can hold.
        if staleQueue.count > 1024 { drainStale() }
    }

    func drainStale() {
        var keep: [Dentry] = []
        for d in staleQueue {
            if d.openCount > 0 || d.pins > 0 { keep.append(d); continue }
            try? writeBack(d)
            closeHandles(d)
            try? d.fid?.clunk()
            d.fid = nil
        }
        staleQueue = keep
    }

    /// Evicts least recently used unreferenced leaves until the cache is 90% of its limit.
    func trimCache() {
        guard cached.count > options.maxCachedDentries else { return }
        let target = options.maxCachedDentries * 9 / 10
        let victims = cached.values.filter { $0.children.isEmpty && $0.openCount == 0 && $0.pins == 0 }.sorted { $0.lastUse.load(ordering: .relaxed) < $1.lastUse.load(ordering: .relaxed) }
        for v in victims where cached.count > target {
            try? evictTree(v)
        }
    }

    /// Releases `d` and its subtree now: write back, close handles, clunk fids.
    func evictTree(_ d: Dentry) throws {
        var firstError: Error?
        for c in Array(d.children.values) {
            do { try evictTree(c) } catch { firstError = firstError ?? error }
        }
        if d.openCount > 0 || d.pins > 0 || !d.children.isEmpty {
            // Still open or in an RPC, or above a file still open (a path must keep leading to that file's one dentry):
            // keep it alive but write it back.
            do { try writeBack(d) } catch { firstError = firstError ?? error }
            if let firstError { throw firstError }
            return
        }
        do { try writeBack(d) } catch { firstError = firstError ?? error }
        if let p = d.parent, p.children[d.name] === d { p.children[d.name] = nil }
        cached[ObjectIdentifier(d)] = nil
        closeHandles(d)
        try? d.fid?.clunk()
        d.fid = nil
        if let firstError { throw firstError }
    }

    func closeHandles(_ d: Dentry) {
        d.handle?.close()
        d.handle = nil
        d.directoryHandle?.close()
        d.directoryHandle = nil
        d.lockHandles.values.forEach { $0.close() }
        d.lockHandles = [:]
    }

    /// Writes dirty pages and explicit timestamps of `d` back to the server.
    ///
    /// With `unlocking` the RPCs go without `lock` (`d` pinned); eviction keeps it, since it clunks `d` next.
    func writeBack(_ d: Dentry, unlocking: Bool = false) throws {
        if let pages = d.pages, let handle = d.handle {
            if unlocking {
                try rpc(d) { try d.data.withLock { try pages.flush(to: handle) } }
            } else {
                try d.data.withLock { try pages.flush(to: handle) }
            }
        }
        if d.pendingATime != nil || d.pendingMTime != nil {
            var valid: SetAttrMask = []
            var attr = SetAttr()
            if let a = d.pendingATime { valid.formUnion([.atime, .atimeSet]); attr.atime = a }
            if let m = d.pendingMTime { valid.formUnion([.mtime, .mtimeSet]); attr.mtime = m }
            d.pendingATime = nil
            d.pendingMTime = nil
            guard let fid = d.fid else { return }
            if unlocking {
                try rpc(d) { try fid.setAttr(valid, attr) }
            } else {
                try fid.setAttr(valid, attr)
            }
        }
    }
}
