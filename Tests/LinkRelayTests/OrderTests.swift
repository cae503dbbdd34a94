import Foundation
import Glibc
@testable import LinkRelay
import P9
import SystemPackage
import TestSupport
import XCTest

/// The relay delivers every frame whole, in the order it was written, with its descriptors, in both directions.
final class OrderTests: XCTestCase {
    /// Writers on both ends, several threads each (a lock keeps each frame whole on the socket, as the Client's
    /// write lock does), frames of many sizes and tags; jitter far above the delay tempts reordering.
    func testFramesKeepOrderContentAndDescriptorsBothWaysUnderConcurrentTags() throws {
        let fdsBefore = openDescriptorCount()
        try exchangeBothWays()
        XCTAssertEqual(openDescriptorCount(), fdsBefore, "every descriptor that crossed the relay was closed once")
    }

    private func exchangeBothWays() throws {
        let link = try RawLink(LinkDelay(delayNs: 20_000, jitterNs: 300_000), seed: 42)
        defer { link.close() }
        let tmp = try TemporaryDirectory(prefix: "linkrelay-order")
        defer { tmp.remove() }
        let upstream = Messages(), downstream = Messages()
        let done = DispatchGroup()
        done.enter()
        let (server, client) = (link.server, link.client)
        Thread.detachNewThread {
            defer { done.leave() }
            downstream.add(exchange(from: server, to: client, side: 2, folder: tmp))
        }
        upstream.add(exchange(from: link.client, to: link.server, side: 1, folder: tmp))
        done.wait()
        XCTAssertEqual(upstream.all, [])
        XCTAssertEqual(downstream.all, [])
        link.relay.close()  // joins the senders: their counts are final
        let up = link.relay.toServerStatistics, down = link.relay.toClientStatistics
        XCTAssertEqual(up.frames, Exchange.writers * Exchange.perWriter)
        XCTAssertEqual(down.frames, Exchange.writers * Exchange.perWriter)
        XCTAssertEqual(up.descriptors, Exchange.writers * Exchange.perWriter / 5)
        XCTAssertEqual(down.descriptors, Exchange.writers * Exchange.perWriter / 5)
        XCTAssertEqual(up.descriptorsDropped + down.descriptorsDropped, 0)
        XCTAssertNil(up.error)
        XCTAssertNil(down.error)
    }

    /// Release times never go backwards and never come before arrival + delay, whatever the jitter draws.
    func testReleaseScheduleNeverReordersAndKeepsTheFloor() {
        var s = ReleaseSchedule(LinkDelay(delayNs: 1000, jitterNs: 50_000), seed: 7)
        var previous: UInt64 = 0
        var spread = Set<UInt64>()
        for i in 0..<10_000 {
            let arrival = UInt64(i) * 100
            let r = s.release(arrival: arrival)
            XCTAssertGreaterThanOrEqual(r, previous)
            XCTAssertGreaterThanOrEqual(r, arrival + 1000)
            spread.insert(r - arrival)
            previous = r
        }
        XCTAssertGreaterThan(spread.count, 100, "jitter draws should vary")
        var plain = ReleaseSchedule(LinkDelay(delayNs: 5000), seed: 7)
        XCTAssertEqual(plain.release(arrival: 10), 5010)
        XCTAssertEqual(plain.release(arrival: 11), 5011)
    }

    /// The queue's memory is bounded in bytes and frames; one frame as large as the whole budget still fits alone.
    func testFrameQueueIsBounded() {
        var q = FrameQueue(byteLimit: 100_000, slots: 4)
        XCTAssertTrue(q.hasRoom(for: 100_000))
        let (b1, c1) = q.takeBuffer(60_000)
        q.append(HeldFrame(buffer: b1, capacity: c1, size: 60_000, fds: [], releaseNs: 1))
        XCTAssertFalse(q.hasRoom(for: 50_000))
        XCTAssertTrue(q.hasRoom(for: 40_000))
        for i in 0..<3 {
            let (b, c) = q.takeBuffer(100)
            q.append(HeldFrame(buffer: b, capacity: c, size: 100, fds: [], releaseNs: UInt64(2 + i)))
        }
        XCTAssertFalse(q.hasRoom(for: 1), "every slot is taken")
        XCTAssertEqual(q.firstRelease, 1)
        var f = q.removeFirst()
        XCTAssertEqual(f.size, 60_000)
        _ = f.closeDescriptors()
        q.giveBack(f.buffer, capacity: f.capacity, size: f.size)
        XCTAssertEqual(q.bytes, 300)
        // The freed 60 KB buffer serves the next frame of that size without a new allocation.
        let (again, _) = q.takeBuffer(50_000)
        XCTAssertEqual(again, f.buffer)
        q.giveBack(again, capacity: c1, size: 50_000)
        XCTAssertEqual(q.dropAll().frames, 3)
        XCTAssertEqual(q.bytes, 0)
        q.releaseMemory()
    }
}

/// Failure messages collected from several threads.
final class Messages: @unchecked Sendable {  // `messages` guarded by `lock`
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ m: [String]) { lock.withLock { messages += m } }
    var all: [String] { lock.withLock { messages } }
}

/// The frames written on one end, in socket order.
private final class SentLog: @unchecked Sendable {  // `frames` guarded by `lock`, held across each send
    let lock = NSLock()
    var frames: [(bytes: [UInt8], inode: UInt64?)] = []
}

enum Exchange {
    static let writers = 4, perWriter = 60
}

/// Writes `writers` x `perWriter` frames on `from` from as many threads and reads them on `to`; returns what differed.
private func exchange(from: StreamTransport, to: StreamTransport, side: UInt8, folder: TemporaryDirectory) -> [String] {
    let log = SentLog()
    let failures = Messages()
    let group = DispatchGroup()
    for w in 0..<Exchange.writers {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            do {
                for i in 0..<Exchange.perWriter {
                    // Bodies from 0 to 200 KB (larger than a socket buffer: partial reads and writes).
                    let n = (i * 7919 + w * 104_729) % (i % 10 == 0 ? 200_000 : 600)
                    let body = [UInt8(w), UInt8(i)] + patternBytes(n, seed: UInt64(side) << 32 | UInt64(w) << 16 | UInt64(i + 1))
                    let bytes = frameBytes(type: 100 + side, tag: UInt16(w * 1000 + i), body: body)
                    // Every fifth frame carries a descriptor of its own file, known by its inode.
                    var fd: Int32 = -1
                    var inode: UInt64?
                    if i % 5 == 0 {
                        fd = open(folder.appending("f-\(side)-\(w)-\(i)"), O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
                        var st = stat()
                        guard fd >= 0, fstat(fd, &st) == 0 else { throw Errno(rawValue: errno) }
                        inode = UInt64(st.st_ino)
                    }
                    try log.lock.withLock {
                        log.frames.append((bytes, inode))
                        try sendFrame(from, bytes, fds: fd >= 0 ? [fd] : [])
                    }
                    if fd >= 0 { Glibc.close(fd) }
                }
            } catch {
                failures.add(["side \(side) writer \(w): \(error)"])
            }
        }
    }
    var received: [(bytes: [UInt8], fds: [Int32])] = []
    do {
        for _ in 0..<(Exchange.writers * Exchange.perWriter) {
            guard let f = try readFrame(to) else { failures.add(["side \(side): EOF after \(received.count) frames"]); break }
            received.append(f)
        }
    } catch {
        failures.add(["side \(side) reader: \(error)"])
    }
    group.wait()
    let sent = log.lock.withLock { log.frames }
    if received.count != sent.count { failures.add(["side \(side): \(received.count) frames received, \(sent.count) sent"]) }
    for (i, (got, expected)) in zip(received, sent).enumerated() {
        if got.bytes != expected.bytes { failures.add(["side \(side) frame \(i): content or order differs"]) }
        if let inode = expected.inode {
            var st = stat()
            if got.fds.count != 1 || fstat(got.fds[0], &st) != 0 || UInt64(st.st_ino) != inode {
                failures.add(["side \(side) frame \(i): \(got.fds.count) descriptors, expected its own file's one"])
            }
        } else if !got.fds.isEmpty {
            failures.add(["side \(side) frame \(i): a descriptor that was not sent with it"])
        }
        for fd in got.fds { Glibc.close(fd) }
    }
    return failures.all
}
