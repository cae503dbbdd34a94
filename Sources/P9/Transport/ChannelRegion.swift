import Glibc
import CShims
import SystemPackage

/// One channel's shared memory (a sealed memfd mapped by both sides): control words on the first page, then
/// a packet window of msize bytes holding one request or its reply (a whole 9P frame).
///
/// The state word says who owns the window: the client posts `request`, the server answers `reply`. A side
/// waiting for the other spins for a bounded time (only while the peer last ran on another CPU: on one CPU
/// spinning only delays the peer), then sleeps on the word with FUTEX_WAIT, after raising its waiting flag
/// so the poster knows to FUTEX_WAKE it. Everything in the region may be changed by the peer at any time:
/// readers load each value once and check the copy. The words are touched only with the C atomics, and the
/// window only by the side the state word gives it to (a hostile peer's writes land in its own view); the object
/// itself holds nothing mutable (the mapping's address is kept as an integer).
final class ChannelRegion: Sendable {
    /// The futex word: one of `State`'s values (anything else is a protocol violation).
    enum State: UInt32 {
        case idle = 0, request = 1, reply = 2, closed = 3
    }

    /// Which end of the channel this mapping serves.
    enum Side { case client, server }

    static let stateOffset = 0
    static let serverWaitingOffset = 64
    static let clientWaitingOffset = 128
    static let serverCPUOffset = 192
    static let clientCPUOffset = 256
    /// Where the packet window starts (the control words have the first page to themselves).
    static let windowOffset = 4096
    /// What `wait` returns when `alive` said the peer or the connection is gone.
    static let gone: UInt32 = .max

    private let address: UInt
    /// Bytes mapped: windowOffset + windowSize.
    let mappedSize: Int
    /// The packet window's size (the connection's msize).
    let windowSize: Int
    let side: Side

    private init(base: UnsafeMutableRawPointer, mappedSize: Int, windowSize: Int, side: Side) {
        address = UInt(bitPattern: base)
        self.mappedSize = mappedSize
        self.windowSize = windowSize
        self.side = side
    }

    deinit { munmap(base, mappedSize) }

    /// A new region for a window of `msize` bytes: a sealed memfd (neither side can shrink it under the other's
    /// mapping) mapped here; returns the region and the memfd to send (the caller closes it).
    static func create(msize: Int) throws(Errno) -> (ChannelRegion, fd: Int32) {
        let size = windowOffset + msize
        let fd = cshims_memfd("gofer-channel", size)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            let e = Errno(rawValue: errno)
            Glibc.close(fd)
            throw e
        }
        return (ChannelRegion(base: p, mappedSize: size, windowSize: msize, side: .server), fd)
    }

    /// Maps a region the server sent: `offset` must be `windowOffset`, `length` at least `msize`, and the memfd
    /// sealed against shrinking and as large as both (a shorter file would fault on access).
    static func map(fd: Int32, offset: UInt64, length: UInt64, msize: Int) throws(P9Error) -> ChannelRegion {
        guard offset == UInt64(windowOffset), length >= UInt64(msize), length <= UInt64(ServerOptions.msizeCeiling) else {
            throw .protocolViolation("Rchannel window \(offset)+\(length) for msize \(msize)")
        }
        let size = windowOffset + msize
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size >= size, cshims_memfd_sealed(fd) != 0 else {
            throw .protocolViolation("Rchannel memory is not a sealed memfd of \(size) bytes")
        }
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw .connectionClosed("mapping a channel failed: \(Errno(rawValue: errno))")
        }
        return ChannelRegion(base: p, mappedSize: size, windowSize: msize, side: .client)
    }

    /// The start of the mapping (the control words).
    @inline(__always) var base: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: address).unsafelyUnwrapped }

    /// The packet window.
    @inline(__always) var window: UnsafeMutableRawPointer { base + Self.windowOffset }

    @inline(__always) private func word(_ offset: Int) -> UnsafeMutablePointer<UInt32> {
        (base + offset).assumingMemoryBound(to: UInt32.self)
    }

    /// The state word's current value (unchecked).
    @inline(__always) var state: UInt32 { cshims_load_u32(word(Self.stateOffset)) }

    /// Stores `state` (after the window's contents) and wakes the peer if it sleeps.
    @inline(__always)
    func post(_ state: State) {
        let mine = side == .client ? Self.clientCPUOffset : Self.serverCPUOffset
        cshims_store_u32(word(mine), UInt32(bitPattern: cshims_current_cpu()))
        cshims_store_u32(word(Self.stateOffset), state.rawValue)
        let peerWaiting = side == .client ? Self.serverWaitingOffset : Self.clientWaitingOffset
        if cshims_load_u32(word(peerWaiting)) != 0 { _ = cshims_futex_wake(word(Self.stateOffset), Int32.max) }
    }

    /// Wakes whoever sleeps on the state word (its `alive` check then runs).
    func wake() { _ = cshims_futex_wake(word(Self.stateOffset), Int32.max) }

    /// Waits while the state word is `a` or `b`. It spins first, for a budget adapted to how long recent waits
    /// took (`estimate`, ns, an average the caller keeps per channel side): twice the estimate, at most
    /// `maxSpinNanoseconds`, and none when waits take longer than that or the peer last ran on this CPU. Past
    /// the first microseconds the spin yields the CPU on every round, so that threads sharing it (other
    /// callers, other channels' threads) still run. Then it sleeps on the futex; `alive(timedOut)` runs after
    /// every sleep (`timedOut`: a whole `sleepNanoseconds` passed) and false returns `gone`. Returns the value
    /// that ended the wait.
    @inline(__always)
    func wait(whileIn a: UInt32, _ b: UInt32, maxSpinNanoseconds: UInt64, estimate: inout UInt64, sleepNanoseconds: Int64,
              alive: (_ timedOut: Bool) -> Bool) -> UInt32 {
        let stateWord = word(Self.stateOffset)
        var s = cshims_load_u32(stateWord)
        if s != a && s != b {
            estimate -= estimate / 8
            return s
        }
        let start = monotonicNanoseconds()
        defer {
            let took = min(monotonicNanoseconds() &- start, 4 * maxSpinNanoseconds)
            estimate = estimate - estimate / 8 + took / 8
        }
        let budget = estimate > maxSpinNanoseconds ? 0 : min(maxSpinNanoseconds, 2 * estimate + 2_000)
        let peerCPU = side == .client ? Self.serverCPUOffset : Self.clientCPUOffset
        if budget > 0 && cshims_load_u32(word(peerCPU)) != UInt32(bitPattern: cshims_current_cpu()) {
            let deadline = start &+ budget
            let yieldFrom = start &+ 2_000
            var now = start
            repeat {
                for _ in 0..<32 {
                    cshims_cpu_relax()
                    s = cshims_load_u32(stateWord)
                    if s != a && s != b { return s }
                }
                now = monotonicNanoseconds()
                if now > yieldFrom { sched_yield() }
            } while now < deadline
        }
        let waiting = word(side == .client ? Self.clientWaitingOffset : Self.serverWaitingOffset)
        while true {
            cshims_store_u32(waiting, 1)
            s = cshims_load_u32(stateWord)
            if s != a && s != b {
                cshims_store_u32(waiting, 0)
                return s
            }
            let r = cshims_futex_wait(stateWord, s, sleepNanoseconds)
            cshims_store_u32(waiting, 0)
            s = cshims_load_u32(stateWord)
            if s != a && s != b { return s }
            if !alive(r == ETIMEDOUT) { return Self.gone }
        }
    }
}
