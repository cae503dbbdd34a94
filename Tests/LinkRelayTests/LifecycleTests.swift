import Foundation
import Glibc
import LinkRelay
import P9
import SystemPackage
import TestSupport
import XCTest

/// The relay ends when either side closes, delivers what is in flight first, and leaks no thread or descriptor.
final class LifecycleTests: XCTestCase {
    func testClientClosingEndsTheLinkAndLeavesNoThreadOrDescriptor() throws {
        let threadsBefore = relayThreadCount(), fdsBefore = openDescriptorCount()
        do {
            let link = try RawLink(LinkDelay(delayNs: 2_000_000))
            XCTAssertTrue(waitUntil { relayThreadCount() == threadsBefore + 4 }, "a reader and a sender per direction")
            // A frame in flight when the client goes: the server still gets it, then EOF.
            let bytes = frameBytes(type: 120, tag: 1, body: [1, 2, 3, 4])
            try sendFrame(link.client, bytes)
            link.client.close()
            XCTAssertEqual(try readFrame(link.server)?.bytes, bytes)
            XCTAssertNil(try readFrame(link.server), "the server sees the link end after the frame in flight")
            link.relay.waitUntilFinished()
            XCTAssertTrue(link.relay.isFinished)
            XCTAssertEqual(link.relay.toServerStatistics.frames, 1)
            link.close()
        }
        XCTAssertTrue(waitUntil { relayThreadCount() == threadsBefore }, "relay threads left: \(relayThreadCount())")
        XCTAssertEqual(openDescriptorCount(), fdsBefore)
    }

    func testServerClosingEndsTheLinkAfterDeliveringWhatIsInFlight() throws {
        let threadsBefore = relayThreadCount(), fdsBefore = openDescriptorCount()
        do {
            let link = try RawLink(LinkDelay(delayNs: 5_000_000))
            let frames = (0..<3).map { frameBytes(type: 117, tag: UInt16($0), body: patternBytes(100 * $0, seed: UInt64($0 + 1))) }
            for f in frames { try sendFrame(link.server, f) }
            link.server.close()
            for f in frames { XCTAssertEqual(try readFrame(link.client)?.bytes, f) }
            XCTAssertNil(try readFrame(link.client), "the client sees EOF once the replies in flight are delivered")
            link.relay.waitUntilFinished()
            XCTAssertEqual(link.relay.toClientStatistics.frames, 3)
            XCTAssertEqual(link.relay.toClientStatistics.framesDropped, 0)
            link.close()
        }
        XCTAssertTrue(waitUntil { relayThreadCount() == threadsBefore }, "relay threads left: \(relayThreadCount())")
        XCTAssertEqual(openDescriptorCount(), fdsBefore)
    }

    /// close() with a frame held for a long delay: the frame is dropped and the descriptor riding on it closed.
    func testCloseDropsHeldFramesAndClosesTheirDescriptors() throws {
        let threadsBefore = relayThreadCount(), fdsBefore = openDescriptorCount()
        var pipeFDs: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&pipeFDs), 0)
        let link = try RawLink(LinkDelay(delayNs: 60_000_000_000))
        // The write end travels with the frame; once every copy of it is closed, the read end sees EOF.
        try sendFrame(link.client, frameBytes(type: 13, tag: 9, body: [0]), fds: [pipeFDs[1]])
        Glibc.close(pipeFDs[1])
        // Wait until the relay holds the frame (read whole and queued), then stop it.
        XCTAssertTrue(waitUntil { link.relay.toServerStatistics.frames == 0 && relayHolds(link) })
        link.close()
        // POLLHUP without waiting: no write end is open any more.
        var p = pollfd(fd: pipeFDs[0], events: Int16(POLLIN), revents: 0)
        XCTAssertEqual(poll(&p, 1, 0), 1)
        XCTAssertNotEqual(p.revents & Int16(POLLHUP), 0, "the relay's copy of the descriptor was closed")
        Glibc.close(pipeFDs[0])
        let s = link.relay.toServerStatistics
        XCTAssertEqual(s.frames, 0)
        XCTAssertEqual(s.framesDropped, 1)
        XCTAssertEqual(s.descriptorsDropped, 1)
        XCTAssertTrue(waitUntil { relayThreadCount() == threadsBefore })
        XCTAssertEqual(openDescriptorCount(), fdsBefore)
    }

    func testMalformedFrameEndsTheLinkWithAClearError() throws {
        let link = try RawLink(.zero)
        defer { link.close() }
        try sendFrame(link.client, [3, 0, 0, 0, 100, 0, 0])  // size 3: smaller than a header
        XCTAssertNil(try readFrame(link.server))
        link.relay.waitUntilFinished()
        let error = link.relay.toServerStatistics.error ?? ""
        XCTAssertTrue(error.contains("malformed frame"), error)
    }

    func testFrameLargerThanTheRelayAcceptsIsRefused() throws {
        let link = try RawLink(.zero, byteLimit: 4096)
        defer { link.close() }
        try sendFrame(link.client, frameBytes(type: 118, tag: 1, body: [UInt8](repeating: 7, count: 5000)))
        XCTAssertNil(try readFrame(link.server))
        link.relay.waitUntilFinished()
        let error = link.relay.toServerStatistics.error ?? ""
        XCTAssertTrue(error.contains("malformed frame") && error.contains("5007"), error)
    }
}

/// Whether the relay has read a frame it has not sent (the held-frame memory is counted in its statistics only once
/// sent, so look at the socket: the client's bytes were all consumed).
private func relayHolds(_ link: RawLink) -> Bool {
    var pending: Int32 = 0
    // SIOCOUTQ on the client end: bytes the relay has not read yet.
    guard ioctl(link.client.fd, UInt(TIOCOUTQ), &pending) == 0 else { return false }
    return pending == 0
}
