import P9

/// Page-aligned buffers for read replies, kept for reuse so a read allocates nothing once the pool is warm.
final class BufferPool: Sendable {
    /// Bytes of each pooled buffer (larger requests get a buffer of their own).
    let size: Int
    /// Base addresses of the free buffers (as integers: a raw pointer is not Sendable).
    private let free = Locked<[UInt]>([])

    init(size: Int) { self.size = size }

    deinit {
        free.withLock { list in
            for a in list { UnsafeMutableRawPointer(bitPattern: a)?.deallocate() }
        }
    }

    /// A buffer of at least `count` bytes; give it back with `put`.
    func take(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if count <= size, let a = free.withLock({ $0.popLast() }), let p = UnsafeMutableRawPointer(bitPattern: a) {
            return UnsafeMutableRawBufferPointer(start: p, count: size)
        }
        return .allocate(byteCount: max(count, size), alignment: 4096)
    }

    /// Returns a buffer from `take` (one of the pool's size is kept, up to 64 of them).
    func put(_ b: UnsafeMutableRawBufferPointer) {
        let address = UInt(bitPattern: b.baseAddress)
        let kept = b.count == size && free.withLock { list in
            guard list.count < 64 else { return false }
            list.append(address)
            return true
        }
        if !kept { b.deallocate() }
    }
}
