import Dispatch
import Glibc
import LocalGofer
@testable import P9
import SystemPackage
import TestSupport
import XCTest

/// Shared-memory channels as the builtin server serves them: negotiation, refusal, and a hostile client.
final class ChannelTests: XCTestCase {
    private func channelHarness(_ channels: Int = 4) throws -> Harness {
        try Harness(options: ServerOptions(workers: 4, channels: channels))
    }

    func testClientGetsTheChannelsItAsksForAndCallsUseThem() throws {
        let h = try channelHarness()
        let client = try h.client(ClientOptions(channels: 3))
        XCTAssertEqual(client.channelCount, 3)
        XCTAssertEqual(client.stats.snapshot().count(.tchannel), 3)
        try h.tmp.write("export/f", Array("hello".utf8))
        let root = try client.attach()
        let (_, f) = try root.walk(["f"])
        _ = try f.open(.readOnly)  // Rlopen may carry a host FD: over the socket
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = try buffer.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }
        XCTAssertEqual(Array(buffer[..<n]), Array("hello".utf8))
        // Tattach, Twalk and Tread went over a channel; Tlopen did not.
        XCTAssertEqual(client.stats.channelRequests, 3)
        client.close()
    }

    func testMoreCallersThanChannelsQueueForAChannelInsteadOfTakingTheSocket() throws {
        let h = try channelHarness()
        let client = try h.client(ClientOptions(channels: 2))
        XCTAssertEqual(client.channelCount, 2)
        let root = try client.attach()
        let before = client.stats.channelRequests
        let threads = 6, calls = 500
        let failures = Locked(0)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<calls {
                do { _ = try root.getAttr() } catch { failures.withLock { $0 += 1 } }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
        XCTAssertEqual(client.stats.channelRequests - before, threads * calls, "every Tgetattr went over a channel")
        XCTAssertEqual(client.stats.snapshot().count(.tgetattr), threads * calls)
        client.close()
    }

    func testServerWithoutChannelsRefusesAndTheSocketServes() throws {
        let h = try channelHarness(0)
        let client = try h.client(ClientOptions(channels: 4))
        XCTAssertEqual(client.channelCount, 0)
        XCTAssertEqual(client.stats.snapshot().count(.tchannel), 1, "the first refusal ends the asking")
        _ = try client.attach().getAttr()
        XCTAssertEqual(client.stats.channelRequests, 0)
        client.close()
    }

    func testServerGrantsAtMostItsLimit() throws {
        let h = try channelHarness(2)
        let client = try h.client(ClientOptions(channels: 4))
        XCTAssertEqual(client.channelCount, 2)
        XCTAssertEqual(client.stats.snapshot().count(.tchannel), 3)
        _ = try client.attach().getAttr()
        client.close()
    }

    /// A client writes garbage over its channel: its connection is closed, the server keeps serving another.
    private func scribble(_ what: String, _ write: (ChannelRegion) -> Void) throws {
        let h = try channelHarness()
        let bystander = try h.client(ClientOptions(channels: 2))
        let bystanderRoot = try bystander.attach()
        let hostile = try h.client(ClientOptions(channels: 1))
        _ = try hostile.attach().getAttr()
        XCTAssertEqual(h.server.connectionCount, 2)
        let region = hostile.channels[0].region
        write(region)
        region.wake()
        XCTAssertTrue(waitUntil { h.server.connectionCount == 1 }, "\(what): the hostile connection is closed")
        XCTAssertThrowsError(try hostile.attach(), "\(what): the hostile client's connection is gone")
        XCTAssertTrue(hostile.isClosed)
        XCTAssertEqual(try bystanderRoot.getAttr().qid.type, .directory, "\(what): the other connection keeps working")
        XCTAssertGreaterThan(bystander.stats.channelRequests, 0)
        bystander.close()
        hostile.close()
    }

    func testGarbageStateWordClosesTheConnection() throws {
        try scribble("garbage everywhere") { r in memset(r.base, 0xA5, r.mappedSize) }
    }

    func testOversizedFrameClosesTheConnection() throws {
        try scribble("a frame larger than msize") { r in
            r.window.storeBytes(of: UInt32(r.windowSize + 1).littleEndian, as: UInt32.self)
            r.post(.request)
        }
    }

    func testTruncatedBodyClosesTheConnection() throws {
        try scribble("a Twalk whose names run past its frame") { r in
            // size 17: header, fid, newfid, nwname = 3, then nothing.
            let bytes: [UInt8] = [17, 0, 0, 0, MessageType.twalk.rawValue, 1, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0]
            r.window.copyMemory(from: bytes, byteCount: bytes.count)
            r.post(.request)
        }
    }
}
