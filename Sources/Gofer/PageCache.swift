import SafeMem
import SystemPackage

/// A regular file's client-side data cache (Exclusive/Writethrough without a host FD).
///
/// Page-granular; misses read ahead; dirty pages are written back by `flush(to:)`. Copies, hits, misses and
/// write-backs count into the filesystem's `StatsCounters`. Guarded by the owning filesystem's lock.
final class PageCache {
    static let pageSize = 4096

    private struct Page {
        let bytes: UnsafeMutableRawBufferPointer
        var dirty = false
    }

    private var pages: [UInt64: Page] = [:]
    /// The file's size as the cache sees it (grows with cached writes).
    var size: UInt64
    private let readahead: Int
    private let counters: StatsCounters

    init(size: UInt64, readahead: Int, counters: StatsCounters) {
        self.size = size
        self.readahead = max(readahead, PageCache.pageSize)
        self.counters = counters
    }

    deinit { pages.values.forEach { $0.bytes.deallocate() } }

    /// Reads `[offset, offset+dst.count)` through the cache, filling misses from `handle` with readahead.
    func read(into dst: BlockSeq, at offset: UInt64, through handle: Handle) throws -> Int {
        guard offset < size else { return 0 }
        let want = Int(min(UInt64(dst.numBytes), size - offset))
        var done = 0
        while done < want {
            let pos = offset + UInt64(done)
            let index = pos / UInt64(Self.pageSize)
            let page = try pageFor(index, handle: handle, fill: true)
            let inPage = Int(pos % UInt64(Self.pageSize))
            let n = min(want - done, Self.pageSize - inPage)
            let src = BlockSeq(Block(base: page.bytes.baseAddress! + inPage, count: n))
            counters.copied(try copySeq(dst: dst.dropFirst(done).takeFirst(n), src: src))
            done += n
        }
        return done
    }

    /// Writes `src` at `offset` into the cache, marking pages dirty (partial pages filled through `handle`); the size grows as needed.
    func write(from src: BlockSeq, at offset: UInt64, through handle: Handle) throws -> Int {
        let total = src.numBytes
        var done = 0
        while done < total {
            let pos = offset + UInt64(done)
            let index = pos / UInt64(Self.pageSize)
            let inPage = Int(pos % UInt64(Self.pageSize))
            let n = min(total - done, Self.pageSize - inPage)
            // A partly overwritten page that holds file data must be read first.
            let wholePage = inPage == 0 && (n == Self.pageSize || pos + UInt64(n) >= size)
            var page = try pageFor(index, handle: handle, fill: !wholePage)
            let dst = BlockSeq(Block(base: page.bytes.baseAddress! + inPage, count: n))
            counters.copied(try copySeq(dst: dst, src: src.dropFirst(done).takeFirst(n)))
            page.dirty = true
            pages[index] = page
            done += n
            size = max(size, pos + UInt64(n))
        }
        return done
    }

    /// Updates cached pages after a write that already went to the server (Writethrough).
    func update(from src: BlockSeq, at offset: UInt64, written: Int) throws {
        var done = 0
        while done < written {
            let pos = offset + UInt64(done)
            let index = pos / UInt64(Self.pageSize)
            let inPage = Int(pos % UInt64(Self.pageSize))
            let n = min(written - done, Self.pageSize - inPage)
            if let page = pages[index] {
                let dst = BlockSeq(Block(base: page.bytes.baseAddress! + inPage, count: n))
                counters.copied(try copySeq(dst: dst, src: src.dropFirst(done).takeFirst(n)))
            }
            done += n
        }
        size = max(size, offset + UInt64(written))
    }

    /// Writes every dirty page back through `handle` (contiguous runs coalesced into one write).
    func flush(to handle: Handle) throws {
        let dirty = pages.filter { $0.value.dirty }.keys.sorted()
        var i = 0
        while i < dirty.count {
            var j = i
            while j + 1 < dirty.count && dirty[j + 1] == dirty[j] + 1 { j += 1 }
            let start = dirty[i] * UInt64(Self.pageSize)
            guard start < size else { break }
            let end = min((dirty[j] + 1) * UInt64(Self.pageSize), size)
            var blocks: [Block] = []
            var left = Int(end - start)
            for k in dirty[i]...dirty[j] where left > 0 {
                let n = min(left, Self.pageSize)
                blocks.append(Block(base: pages[k]!.bytes.baseAddress, count: n))
                left -= n
            }
            let seq = BlockSeq(blocks)
            let n = try handle.writeFromBlocksAt(seq, offset: start)
            counters.wroteBack()
            guard n == seq.numBytes else { throw Errno.ioError }
            for k in dirty[i]...dirty[j] { pages[k]?.dirty = false }
            i = j + 1
        }
    }

    /// Drops cached data beyond `newSize`.
    func truncate(to newSize: UInt64) {
        for (index, page) in pages where index * UInt64(Self.pageSize) >= newSize {
            page.bytes.deallocate()
            pages[index] = nil
        }
        let inPage = Int(newSize % UInt64(Self.pageSize))
        if inPage > 0, let page = pages[newSize / UInt64(Self.pageSize)] {
            (page.bytes.baseAddress! + inPage).initializeMemory(as: UInt8.self, repeating: 0, count: Self.pageSize - inPage)
        }
        size = newSize
    }

    /// Drops every cached page (the caller wrote the dirty ones back) and takes `newSize`: the server's bytes changed.
    func invalidate(size newSize: UInt64) {
        truncate(to: 0)
        size = newSize
    }

    /// The page at `index`; a miss allocates it and, when `fill`, reads it (with readahead) from the server.
    ///
    /// With `fill` (its data is needed) a cached page counts as a hit and one read from the server as a miss.
    private func pageFor(_ index: UInt64, handle: Handle, fill: Bool) throws -> Page {
        if let p = pages[index] {
            if fill { counters.hit() }
            return p
        }
        let start = index * UInt64(Self.pageSize)
        guard fill, start < size else { return allocate(index) }
        counters.missed()
        // Read ahead: this page and following missing ones, up to `readahead` bytes and EOF.
        var count = 0
        var blocks: [Block] = []
        var k = index
        while count < readahead && k * UInt64(Self.pageSize) < size && (k == index || pages[k] == nil) {
            let p = allocate(k)
            blocks.append(Block(p.bytes))
            count += Self.pageSize
            k += 1
        }
        _ = try handle.readToBlocksAt(BlockSeq(blocks), offset: start)
        return pages[index]!
    }

    private func allocate(_ index: UInt64) -> Page {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.pageSize, alignment: Self.pageSize)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        let p = Page(bytes: bytes)
        pages[index] = p
        return p
    }
}
