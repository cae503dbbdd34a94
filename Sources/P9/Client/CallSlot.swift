import Glibc
import Dispatch

/// The state of one tag's call: reused by every call that gets the tag, alive as long as the client.
///
/// The flags are guarded by `Client.state`; the buffers belong to the caller, except while the
/// baton holder receives this call's reply into them (between the header and setting `done`).
final class CallSlot: @unchecked Sendable {  // fields guarded by Client.state (see above)
    /// Replies up to this many body bytes land in the preallocated buffer (Rgetattr is 153).
    static let inlineCapacity = 512

    let tag: Tag
    /// The owner sleeps here while another caller holds the receive baton.
    let semaphore = DispatchSemaphore(value: 0)
    /// Body of small replies; the first 16 bytes of `scratch` hold a header the baton holder reads.
    let inline: UnsafeMutableRawBufferPointer
    let scratch: UnsafeMutableRawBufferPointer

    var active = false
    var done = false
    var sleeping = false
    /// The R type accepted besides Rlerror.
    var expected: UInt8 = 0
    var replyType: UInt8 = 0
    var bodyCount = 0
    /// A heap buffer for a body larger than `inline`, freed when the call ends.
    var overflow: UnsafeMutableRawBufferPointer?
    /// Where an Rread payload goes (nil: into the body buffer like any reply).
    var sink: UnsafeBufferPointer<iovec>?
    var payloadCount = 0
    /// Descriptors that arrived with the reply; the call takes what it needs and the rest are closed.
    var fds: [Int32] = []

    init(tag: Tag) {
        self.tag = tag
        inline = .allocate(byteCount: Self.inlineCapacity, alignment: 16)
        scratch = .allocate(byteCount: 16, alignment: 16)
    }

    deinit {
        inline.deallocate()
        scratch.deallocate()
        overflow?.deallocate()
        for fd in fds { _ = Glibc.close(fd) }
    }

    /// The received body (valid until the call ends).
    var body: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: (overflow ?? inline).baseAddress, count: bodyCount)
    }

    /// Clears the per-call state; called with the state lock held.
    func reset() {
        active = false
        done = false
        sleeping = false
        bodyCount = 0
        payloadCount = 0
        sink = nil
        if let o = overflow { o.deallocate(); overflow = nil }
        if !fds.isEmpty {
            for fd in fds { _ = Glibc.close(fd) }
            fds.removeAll(keepingCapacity: true)
        }
    }
}
