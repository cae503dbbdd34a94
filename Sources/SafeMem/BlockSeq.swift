/// An immutable sequence of blocks, the unit of scatter/gather I/O (gVisor `safemem.BlockSeq`).
///
/// A single block is held inline (no array), which is the common case on hot paths. Empty blocks
/// are skipped at construction, so `head` is never empty unless the sequence is.
public struct BlockSeq {
    // Inline storage used when `blocks` is nil.
    private let single: Block
    // Non-empty blocks, shared between slices of the same sequence.
    private let blocks: [Block]?
    // Index of the first block in `blocks`.
    private let index: Int
    // Bytes already dropped from blocks[index].
    private let headOffset: Int
    /// Total bytes in the sequence.
    public let numBytes: Int

    /// The empty sequence.
    public init() {
        single = Block(base: nil, count: 0)
        blocks = nil
        index = 0
        headOffset = 0
        numBytes = 0
    }

    /// A sequence of one block.
    public init(_ block: Block) {
        single = block
        blocks = nil
        index = 0
        headOffset = 0
        numBytes = block.count
    }

    /// A sequence over `blocks`, in order; empty blocks are dropped.
    public init(_ blocks: [Block]) {
        let nonEmpty = blocks.filter { !$0.isEmpty }
        if nonEmpty.count <= 1 {
            self.init(nonEmpty.first ?? Block(base: nil, count: 0))
            return
        }
        self.init(blocks: nonEmpty, index: 0, headOffset: 0, numBytes: nonEmpty.reduce(0) { $0 + $1.count })
    }

    private init(blocks: [Block], index: Int, headOffset: Int, numBytes: Int) {
        self.single = Block(base: nil, count: 0)
        self.blocks = blocks
        self.index = index
        self.headOffset = headOffset
        self.numBytes = numBytes
    }

    /// True when the sequence holds no bytes.
    public var isEmpty: Bool { numBytes == 0 }

    /// The first block (empty when the sequence is).
    public var head: Block {
        guard let blocks else { return single }
        if numBytes == 0 { return Block(base: nil, count: 0) }
        return blocks[index].dropFirst(headOffset).takeFirst(numBytes)
    }

    /// The sequence without its first block.
    public var tail: BlockSeq { dropFirst(head.count) }

    /// Number of (non-empty) blocks.
    public var numBlocks: Int {
        guard let blocks else { return numBytes == 0 ? 0 : 1 }
        var n = 0
        var left = numBytes
        var i = index
        var skip = headOffset
        while left > 0 {
            left -= min(left, blocks[i].count - skip)
            skip = 0
            i += 1
            n += 1
        }
        return n
    }

    /// The sequence without its first `n` bytes.
    public func dropFirst(_ n: Int) -> BlockSeq {
        precondition(n >= 0)
        if n == 0 { return self }
        if n >= numBytes { return BlockSeq() }
        guard let blocks else { return BlockSeq(single.dropFirst(n)) }
        var i = index
        var off = headOffset + n
        while off >= blocks[i].count {
            off -= blocks[i].count
            i += 1
        }
        return BlockSeq(blocks: blocks, index: i, headOffset: off, numBytes: numBytes - n)
    }

    /// The first `n` bytes of the sequence (all of it when n >= numBytes).
    public func takeFirst(_ n: Int) -> BlockSeq {
        precondition(n >= 0)
        if n >= numBytes { return self }
        if n == 0 { return BlockSeq() }
        guard let blocks else { return BlockSeq(single.takeFirst(n)) }
        // A prefix inside the first block goes back to inline storage.
        let first = blocks[index].count - headOffset
        if n <= first { return BlockSeq(blocks[index].dropFirst(headOffset).takeFirst(n)) }
        return BlockSeq(blocks: blocks, index: index, headOffset: headOffset, numBytes: n)
    }

    /// Calls `body` with each block in order.
    public func forEachBlock(_ body: (Block) throws -> Void) rethrows {
        var s = self
        while !s.isEmpty {
            let h = s.head
            try body(h)
            s = s.dropFirst(h.count)
        }
    }

    /// True when any block needs a safe copy.
    public var needsSafeCopy: Bool {
        var any = false
        forEachBlock { if $0.needsSafeCopy { any = true } }
        return any
    }
}

extension BlockSeq: CustomStringConvertible {
    public var description: String {
        var parts: [String] = []
        forEachBlock { parts.append("\($0.count)\($0.needsSafeCopy ? "!" : "")") }
        return "BlockSeq[\(parts.joined(separator: ", "))]"
    }
}
