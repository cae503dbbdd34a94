import Foundation
import Glibc
import LinkRelay
import P9
import SystemPackage
import TestSupport
import XCTest

/// A delayed link in front of a real goferd: every RPC pays the round trip, concurrent callers get their own
/// replies, donated descriptors arrive.
final class DelayTests: XCTestCase {
    /// With a one-way delay D, a null RPC (Tgetattr) takes at least 2 D: a lower bound only.
    func testNullRPCMedianIsAtLeastTwiceTheDelay() throws {
        let delay: UInt64 = 1_000_000
        let g = try GoferLink(LinkDelay(delayNs: delay))
        defer { g.close() }
        let root = try g.client.attach()
        var samples: [UInt64] = []
        for _ in 0..<21 {
            var a = timespec(), b = timespec()
            clock_gettime(CLOCK_MONOTONIC, &a)
            _ = try root.getAttr(.all)
            clock_gettime(CLOCK_MONOTONIC, &b)
            samples.append(UInt64((b.tv_sec - a.tv_sec) * 1_000_000_000 + (b.tv_nsec - a.tv_nsec)))
        }
        samples.sort()
        XCTAssertGreaterThanOrEqual(samples[samples.count / 2], 2 * delay)
        XCTAssertGreaterThanOrEqual(samples[0], 2 * delay, "no RPC beats the link")
        try root.clunk()
    }

    /// Many callers on one connection through a jittery link: each gets its own file's attributes and bytes.
    func testConcurrentCallersThroughTheLinkGetTheirOwnReplies() throws {
        let count = 8
        let contents = (0..<count).map { patternBytes(1000 + 4096 * $0, seed: UInt64($0 + 1)) }
        var files: [String: [UInt8]] = [:]
        for i in 0..<count { files["f\(i)"] = contents[i] }
        let g = try GoferLink(LinkDelay(delayNs: 50_000, jitterNs: 200_000), files: files)
        defer { g.close() }
        let root = try g.client.attach()
        let failures = Messages()
        DispatchQueue.concurrentPerform(iterations: count) { i in
            do {
                for round in 0..<20 {
                    let (_, f, _, attr) = try root.walkGetAttr(["f\(i)"])
                    defer { try? f.clunk() }
                    guard attr.size == UInt64(contents[i].count) else {
                        throw P9Error.protocolViolation("f\(i) round \(round): size \(attr.size)")
                    }
                    _ = try f.open(.readOnly).hostFD.map { try $0.close() }
                    var got = [UInt8](repeating: 0, count: contents[i].count)
                    let n = try got.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }
                    guard n == got.count, got == contents[i] else {
                        throw P9Error.protocolViolation("f\(i) round \(round): read \(n) bytes, content differs")
                    }
                }
            } catch {
                failures.add(["\(error)"])
            }
        }
        XCTAssertEqual(failures.all, [])
        try root.clunk()
    }

    /// Rlopen's donated host descriptor crosses the relay with its reply and reads the file.
    func testDonatedDescriptorCrossesTheLink() throws {
        let content = patternBytes(10_000, seed: 3)
        let g = try GoferLink(LinkDelay(delayNs: 100_000), files: ["data": content])
        defer { g.close() }
        let root = try g.client.attach()
        let (_, f) = try root.walk(["data"])
        let opened = try f.open(.readOnly)
        let fd = try XCTUnwrap(opened.hostFD, "goferd donates a descriptor over a Unix socket")
        var got = [UInt8](repeating: 0, count: content.count)
        XCTAssertEqual(got.withUnsafeMutableBytes { pread(fd.rawValue, $0.baseAddress, $0.count, 0) }, content.count)
        XCTAssertEqual(got, content)
        try fd.close()
        // The sender counts a frame once sendmsg returned, which may be after the client has it.
        XCTAssertTrue(waitUntil { g.relay.toClientStatistics.descriptors == 1 }, "\(g.relay.toClientStatistics)")
        try f.clunk()
        try root.clunk()
    }
}
