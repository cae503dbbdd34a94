import Glibc

/// One frame held by the relay: its bytes in a pooled buffer, the descriptors that came with it, and when it may go.
struct HeldFrame {
    /// The frame's bytes (header included).
    var buffer: UnsafeMutableRawPointer
    /// The buffer's size (at least `size`).
    var capacity: Int
    /// The frame's size in bytes.
    var size: Int
    /// SCM_RIGHTS descriptors that arrived with the frame; owned by the frame until sent or closed.
    var fds: [Int32]
    /// Monotonic nanoseconds before which the frame must not leave.
    var releaseNs: UInt64

    /// Closes the frame's descriptors (a frame dropped at shutdown); returns how many.
    mutating func closeDescriptors() -> Int {
        let n = fds.count
        for fd in fds { _ = Glibc.close(fd) }
        fds.removeAll()
        return n
    }
}

/// One direction's held frames, first in first out, and the buffers they live in.
///
/// Memory is bounded: at most `byteLimit` bytes of frames are queued or being read at once (a single larger frame is
/// refused by the reader before it gets here), at most `slots` frames, and freed buffers are kept for reuse only up
/// to `byteLimit` bytes. Not thread-safe: its owner guards it.
struct FrameQueue {
    /// Most bytes of frames held (queued plus the one being read).
    let byteLimit: Int
    /// The ring of frames; `count` of them from `head` are live.
    private var ring: [HeldFrame?]
    private var head = 0
    private(set) var count = 0
    /// Bytes of queued frames plus the reservation of the frame being read.
    private(set) var bytes = 0
    /// Buffers ready for reuse and their total size.
    private var pool: [(UnsafeMutableRawPointer, Int)] = []
    private var pooledBytes = 0

    /// Smallest buffer made: one for a small frame serves every later small frame.
    static let minimumBuffer = 8192

    init(byteLimit: Int, slots: Int) {
        self.byteLimit = byteLimit
        ring = Array(repeating: nil, count: max(1, slots))
        pool.reserveCapacity(16)
    }

    var isEmpty: Bool { count == 0 }

    /// Whether a frame of `size` bytes may be read now: a free slot and room in the byte budget (an empty queue always
    /// has room, so a frame as large as the budget never waits forever).
    func hasRoom(for size: Int) -> Bool {
        count < ring.count && (bytes == 0 || bytes + size <= byteLimit)
    }

    /// A buffer of at least `size` bytes, counted against the budget until it is given back.
    mutating func takeBuffer(_ size: Int) -> (UnsafeMutableRawPointer, Int) {
        bytes += size
        if let i = pool.firstIndex(where: { $0.1 >= size }) {
            let b = pool.remove(at: i)
            pooledBytes -= b.1
            return b
        }
        let capacity = max(Self.minimumBuffer, (size + 4095) & ~4095)
        return (.allocate(byteCount: capacity, alignment: 16), capacity)
    }

    /// Gives back a buffer taken for a frame of `size` bytes (sent, dropped, or never filled).
    mutating func giveBack(_ buffer: UnsafeMutableRawPointer, capacity: Int, size: Int) {
        bytes -= size
        if pooledBytes + capacity <= byteLimit {
            pool.append((buffer, capacity))
            pooledBytes += capacity
        } else {
            buffer.deallocate()
        }
    }

    /// Queues a frame whose buffer came from `takeBuffer` (the caller checked `hasRoom`).
    mutating func append(_ frame: HeldFrame) {
        precondition(count < ring.count, "FrameQueue.append without room")
        ring[(head + count) % ring.count] = frame
        count += 1
    }

    /// The oldest frame's release time.
    var firstRelease: UInt64? { count == 0 ? nil : ring[head]!.releaseNs }

    /// Takes the oldest frame out (its bytes stay counted until `giveBack`).
    mutating func removeFirst() -> HeldFrame {
        let f = ring[head]!
        ring[head] = nil
        head = (head + 1) % ring.count
        count -= 1
        return f
    }

    /// Empties the queue: descriptors closed, buffers given back; returns the frames and descriptors dropped.
    mutating func dropAll() -> (frames: Int, fds: Int) {
        var frames = 0, fds = 0
        while count > 0 {
            var f = removeFirst()
            fds += f.closeDescriptors()
            giveBack(f.buffer, capacity: f.capacity, size: f.size)
            frames += 1
        }
        return (frames, fds)
    }

    /// Frees the pooled buffers (the queue must be empty).
    mutating func releaseMemory() {
        for (b, _) in pool { b.deallocate() }
        pool.removeAll()
        pooledBytes = 0
    }
}
