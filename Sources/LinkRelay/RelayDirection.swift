import CShims
import Glibc
import P9
import SystemPackage

/// What one direction of a relay has forwarded.
public struct LinkDirectionStatistics: Sendable, Equatable {
    /// Frames sent on.
    public var frames = 0
    /// Bytes of those frames.
    public var bytes = 0
    /// SCM_RIGHTS descriptors passed on with them.
    public var descriptors = 0
    /// Frames and descriptors dropped (read but not delivered: the relay stopped or the destination was gone).
    public var framesDropped = 0, descriptorsDropped = 0
    /// How late the relay started sending frames past their release time (timer wake-up and scheduling), in total
    /// and at most, in nanoseconds: the delay a frame really had is its release time plus this.
    public var latenessTotalNs: UInt64 = 0, latenessMaxNs: UInt64 = 0
    /// Why the direction ended other than by its source closing (a malformed frame, a failed send), if it did.
    public var error: String?

    /// Statistics of nothing forwarded.
    public init() {}
}

/// One direction of a relay: a reader thread that reads whole 9P frames (with their descriptors) from `source` and
/// queues them with a release time, and a sender thread that writes each to `destination` once it is due.
///
/// When the source ends (EOF or an error) the sender delivers what is queued, then shuts the destination down both
/// ways: the peer sees the link end, and the other direction's reader (which reads the destination) returns.
final class RelayDirection: @unchecked Sendable {  // `queue`, `schedule`, `stats` and the flags are guarded by `monitor`
    let source: StreamTransport
    let destination: StreamTransport
    /// The largest frame accepted (the queue's byte budget), kept apart from the guarded queue.
    private let maxFrame: Int
    private let monitor = Monitor()
    private var queue: FrameQueue
    private var schedule: ReleaseSchedule
    private var stats = LinkDirectionStatistics()
    /// The reader saw EOF or an error: nothing more will be queued.
    private var sourceEnded = false
    /// close() or a failed send: deliver nothing more.
    private var stopped = false

    init(from source: StreamTransport, to destination: StreamTransport, delay: LinkDelay, seed: UInt64, byteLimit: Int) {
        self.source = source
        self.destination = destination
        maxFrame = byteLimit
        queue = FrameQueue(byteLimit: byteLimit, slots: 1024)
        schedule = ReleaseSchedule(delay, seed: seed)
    }

    deinit {
        _ = queue.dropAll()
        queue.releaseMemory()
    }

    /// What was forwarded so far.
    var statistics: LinkDirectionStatistics { monitor.withLock { stats } }

    /// Stops at once: queued frames are dropped (descriptors closed) and both threads return.
    func stop() {
        monitor.withLock {
            stopped = true
            monitor.broadcast(.frames)
            monitor.broadcast(.room)
        }
        source.shutdown()
        destination.shutdown()
    }

    // MARK: reader

    /// Reads frames until the source ends, a frame is malformed, or the direction stops.
    func readLoop() {
        var fds: [Int32] = []
        var failure: String?
        withUnsafeTemporaryAllocation(byteCount: Frame.headerSize, alignment: 8) { header in
            while true {
                do {
                    guard try source.receiveFully(into: header, fds: &fds) else { break }
                } catch {
                    // A reset is the peer going away, like EOF; anything else is worth reporting.
                    if (error as? Errno) != .connectionReset { failure = "receive: \(error)" }
                    break
                }
                let size: Int
                do {
                    size = try Frame.header(UnsafeRawBufferPointer(header), limit: maxFrame).size
                } catch {
                    failure = "malformed frame: \(error)"
                    break
                }
                // Wait for room: a slow link holds the reader back instead of growing without bound.
                let taken: (UnsafeMutableRawPointer, Int)? = monitor.withLock {
                    while !stopped && !queue.hasRoom(for: size) { monitor.wait(.room) }
                    return stopped ? nil : queue.takeBuffer(size)
                }
                guard let (buffer, capacity) = taken else { break }
                buffer.copyMemory(from: header.baseAddress!, byteCount: Frame.headerSize)
                let body = UnsafeMutableRawBufferPointer(start: buffer + Frame.headerSize, count: size - Frame.headerSize)
                var whole = false
                do { whole = try body.isEmpty || source.receiveFully(into: body, fds: &fds) } catch {}
                let arrival = monotonicNanoseconds()
                let queued = monitor.withLock { () -> Bool in
                    guard whole && !stopped else {
                        queue.giveBack(buffer, capacity: capacity, size: size)
                        return false
                    }
                    let wasEmpty = queue.isEmpty
                    queue.append(HeldFrame(buffer: buffer, capacity: capacity, size: size, fds: fds,
                                           releaseNs: schedule.release(arrival: arrival)))
                    if wasEmpty { monitor.signal(.frames) }  // a sender with a queued head sleeps until that head is due
                    return true
                }
                guard queued else {
                    if !whole { failure = "the source closed inside a frame of \(size) bytes" }
                    break
                }
                fds = []  // the frame owns them now
            }
        }
        for fd in fds { _ = Glibc.close(fd) }
        monitor.withLock {
            if !fds.isEmpty { stats.descriptorsDropped += fds.count }
            if let failure, stats.error == nil { stats.error = failure }
            sourceEnded = true
            monitor.broadcast(.frames)
        }
    }

    // MARK: sender

    /// Sends each frame when it is due, until the queue is drained after the source ended, or the direction stops.
    func sendLoop() {
        _ = cshims_set_timer_slack(1)  // a timed wait otherwise wakes up to 50 us late
        while true {
            let next: (HeldFrame, UInt64)? = monitor.withLock {
                while !stopped {
                    guard let due = queue.firstRelease else {
                        if sourceEnded { return nil }
                        monitor.wait(.frames)
                        continue
                    }
                    let now = monotonicNanoseconds()
                    if now < due {
                        monitor.wait(.frames, until: due)
                        continue
                    }
                    return (queue.removeFirst(), now - due)
                }
                return nil
            }
            guard let (taken, late) = next else { break }
            var frame = taken
            var failure: String?
            var passed = 0
            do {
                var fds = frame.fds
                if !destination.canCarryFDs || fds.count > Int(CSHIMS_MAX_FDS) {
                    fds = destination.canCarryFDs ? Array(fds.prefix(Int(CSHIMS_MAX_FDS))) : []
                }
                try destination.send(UnsafeRawBufferPointer(start: frame.buffer, count: frame.size), fds: fds)
                passed = fds.count
            } catch {
                failure = "send: \(error)"
            }
            let closed = frame.closeDescriptors()  // ours: the receiver got its own copies
            monitor.withLock {
                queue.giveBack(frame.buffer, capacity: frame.capacity, size: frame.size)
                monitor.signal(.room)
                if let failure {
                    stats.framesDropped += 1
                    stats.descriptorsDropped += closed
                    if stats.error == nil { stats.error = failure }
                    stopped = true
                    monitor.broadcast(.room)
                } else {
                    stats.frames += 1
                    stats.bytes += frame.size
                    stats.descriptors += passed
                    stats.descriptorsDropped += closed - passed
                    stats.latenessTotalNs += late
                    stats.latenessMaxNs = max(stats.latenessMaxNs, late)
                }
            }
            if failure != nil { break }
        }
        monitor.withLock {
            let dropped = queue.dropAll()
            stats.framesDropped += dropped.frames
            stats.descriptorsDropped += dropped.fds
        }
        // The link is over in this direction: end it for both peers (a reader blocked on either socket returns).
        destination.shutdown()
        source.shutdown()
    }
}
