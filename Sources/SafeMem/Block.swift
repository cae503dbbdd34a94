/// A contiguous range of memory: base pointer, length, and whether it must be copied safely.
///
/// `needsSafeCopy` marks memory that may fault (a mapping of a file that can shrink, say): such a
/// block is never touched with plain loads/stores, only through the kernel.
public struct Block {
    /// First byte (nil only for an empty block).
    public let base: UnsafeMutableRawPointer?
    /// Length in bytes.
    public let count: Int
    /// True when the memory may fault and must be copied with process_vm_readv/writev.
    public let needsSafeCopy: Bool

    /// A block of `count` bytes at `base`.
    public init(base: UnsafeMutableRawPointer?, count: Int, needsSafeCopy: Bool = false) {
        precondition(count >= 0, "Block length must not be negative")
        precondition(base != nil || count == 0, "a non-empty Block needs a base pointer")
        self.base = base
        self.count = count
        self.needsSafeCopy = needsSafeCopy
    }

    /// A block over a buffer the caller owns.
    public init(_ buffer: UnsafeMutableRawBufferPointer, needsSafeCopy: Bool = false) {
        self.init(base: buffer.baseAddress, count: buffer.count, needsSafeCopy: needsSafeCopy)
    }

    /// True when the block holds no bytes.
    public var isEmpty: Bool { count == 0 }

    /// The block without its first `n` bytes (empty when n >= count).
    public func dropFirst(_ n: Int) -> Block {
        precondition(n >= 0)
        if n >= count { return Block(base: nil, count: 0, needsSafeCopy: needsSafeCopy) }
        return Block(base: base! + n, count: count - n, needsSafeCopy: needsSafeCopy)
    }

    /// The first `n` bytes of the block (all of it when n >= count).
    public func takeFirst(_ n: Int) -> Block {
        precondition(n >= 0)
        if n >= count { return self }
        return Block(base: n == 0 ? nil : base, count: n, needsSafeCopy: needsSafeCopy)
    }

    /// The block as a raw buffer; only for blocks that do not need a safe copy.
    public var buffer: UnsafeMutableRawBufferPointer {
        precondition(!needsSafeCopy, "a block that needs a safe copy must not be accessed directly")
        return UnsafeMutableRawBufferPointer(start: base, count: count)
    }
}
