import Synchronization

/// What a filesystem's data paths have done since it was made (a snapshot; `Filesystem.stats`).
public struct FilesystemStats: Sendable, Equatable {
    /// Payload bytes copied in client memory: the buffered multi-block 9P path and the page cache (not the kernel's copies).
    public var payloadBytesCopied = 0
    /// Page-cache lookups that needed a page's data (reads, partial-page writes) and found it cached.
    public var pageCacheHits = 0
    /// Page-cache lookups that had to read the page (and its readahead) from the server.
    public var pageCacheMisses = 0
    /// Write-back operations of dirty pages: one per run of contiguous pages, written through the handle at once.
    public var writeBacks = 0

    /// A snapshot with every count zero.
    public init() {}
}

/// The live counts behind `FilesystemStats`, shared by a filesystem's handles and page caches.
final class StatsCounters: Sendable {
    let payloadBytesCopied = Atomic<Int>(0)
    let pageCacheHits = Atomic<Int>(0)
    let pageCacheMisses = Atomic<Int>(0)
    let writeBacks = Atomic<Int>(0)

    /// The counts now.
    var snapshot: FilesystemStats {
        var s = FilesystemStats()
        s.payloadBytesCopied = payloadBytesCopied.load(ordering: .relaxed)
        s.pageCacheHits = pageCacheHits.load(ordering: .relaxed)
        s.pageCacheMisses = pageCacheMisses.load(ordering: .relaxed)
        s.writeBacks = writeBacks.load(ordering: .relaxed)
        return s
    }

    func copied(_ bytes: Int) { payloadBytesCopied.add(bytes, ordering: .relaxed) }
    func hit() { pageCacheHits.add(1, ordering: .relaxed) }
    func missed() { pageCacheMisses.add(1, ordering: .relaxed) }
    func wroteBack() { writeBacks.add(1, ordering: .relaxed) }
}
