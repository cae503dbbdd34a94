import Glibc
import CShims
import Dispatch

/// The state of one tag's call: reused by every call that gets the tag, alive as long as the client.
///
/// The flags are guarded by `Client.state`. `request` belongs to the caller until the frame is sent; `buffer`,
/// `overflow` and the sink are written only by the receive-baton holder, and read by the caller once `done`.
final class CallSlot: @unchecked Sendable {  // fields guarded by Client.state (see above)
    /// Bytes of a reply frame (header included) the slot holds without a heap buffer; also how much one read
    /// into a slot asks for, so several small replies arrive with one recvmsg.
    static let bufferCapacity = 8192
    /// Largest request frame encoded in `request` (a Twrite sends only its header from there).
    static let requestCapacity = 8192
    /// An overflow buffer up to this size is kept for the next call on the tag (a Treaddir loop allocates once).
    static let keptOverflow = 256 << 10

    let tag: Tag
    /// The owner sleeps here while another caller holds the receive baton.
    let semaphore = DispatchSemaphore(value: 0)
    /// Where replies are received and framed (a whole reply, or several on their way to their owners).
    let buffer: UnsafeMutableRawPointer
    /// The request frame, encoded by the caller and sent by whoever holds the send turn.
    let request: UnsafeMutableRawPointer

    var active = false
    var done = false
    var sleeping = false
    /// The next slot of `CallState.wakeList` (woken under the lock, signalled after it).
    var nextWake: CallSlot?
    /// The request's type (for a timeout's error) and the R type accepted besides Rlerror.
    var type = MessageType.tversion
    var expected: UInt8 = 0
    var replyType: UInt8 = 0
    /// The reply body: `bodyCount` bytes at `bodyStart` of `overflow` when set, else of `buffer`.
    var bodyStart = 0
    var bodyCount = 0
    /// A heap buffer for a reply larger than `buffer`.
    var overflow: UnsafeMutableRawBufferPointer?
    var overflowInUse = false
    /// Where an Rread payload goes (nil: into the body buffer like any reply).
    var sink: UnsafeBufferPointer<iovec>?
    var payloadCount = 0
    /// Descriptors that arrived with the reply; the call takes what it needs and the rest are closed. Touched only
    /// under `Client.state` (or by the owner once `done`), so the runtime's exclusivity check would only cost.
    @exclusivity(unchecked) var fds: [Int32] = []
    /// The request as iovecs: `sendHeader` bytes of its frame in `request` (or `requestOverflow` for one larger
    /// than `requestCapacity`), then a Twrite's payload straight from the caller's memory.
    var sendHeader = 0
    var sendPayload: UnsafeBufferPointer<iovec>?
    var requestOverflow: UnsafeMutableRawBufferPointer?
    var requestOverflowInUse = false
    /// Monotonic time (ns) by which the reply must be in (0: no limit), and whether it passed.
    var deadline: UInt64 = 0
    var expired = false

    init(tag: Tag) {
        self.tag = tag
        buffer = .allocate(byteCount: Self.bufferCapacity, alignment: 16)
        request = .allocate(byteCount: Self.requestCapacity, alignment: 16)
        fds.reserveCapacity(4)
    }

    deinit {
        buffer.deallocate()
        request.deallocate()
        overflow?.deallocate()
        requestOverflow?.deallocate()
        for fd in fds { _ = Glibc.close(fd) }
    }

    /// Where the request frame was encoded.
    var requestBytes: UnsafeMutableRawPointer {
        requestOverflowInUse ? requestOverflow!.baseAddress! : request
    }

    /// A heap buffer of `size` bytes for a request frame larger than `request`.
    func requestOverflowBuffer(_ size: Int) -> UnsafeMutableRawBufferPointer {
        if let o = requestOverflow, o.count >= size {
            requestOverflowInUse = true
            return o
        }
        requestOverflow?.deallocate()
        let o = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        requestOverflow = o
        requestOverflowInUse = true
        return o
    }

    /// The received body (valid until the call ends).
    var body: UnsafeRawBufferPointer {
        let base = overflowInUse ? overflow!.baseAddress! : UnsafeMutableRawPointer(buffer)
        return UnsafeRawBufferPointer(start: base + bodyStart, count: bodyCount)
    }

    /// A heap buffer of at least `size` bytes for this reply (reusing the kept one when large enough).
    func overflowBuffer(_ size: Int) -> UnsafeMutableRawPointer {
        if let o = overflow, o.count >= size {
            overflowInUse = true
            return o.baseAddress!
        }
        overflow?.deallocate()
        let o = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        overflow = o
        overflowInUse = true
        return o.baseAddress!
    }

    /// Clears the per-call state; called with the state lock held.
    func reset() {
        cshims_tsan_acquire(request)  // after the sender's reads of this call's request (see `Client.sendBatch`)
        active = false
        done = false
        sleeping = false
        expired = false
        deadline = 0
        bodyStart = 0
        bodyCount = 0
        payloadCount = 0
        sink = nil
        sendPayload = nil
        sendHeader = 0
        overflowInUse = false
        requestOverflowInUse = false
        if let o = overflow, o.count > Self.keptOverflow { o.deallocate(); overflow = nil }
        if let o = requestOverflow, o.count > Self.keptOverflow { o.deallocate(); requestOverflow = nil }
        if !fds.isEmpty {
            for fd in fds { _ = Glibc.close(fd) }
            fds.removeAll(keepingCapacity: true)
        }
    }
}
