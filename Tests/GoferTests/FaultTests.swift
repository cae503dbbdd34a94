import Foundation
import Glibc
import Gofer
import LocalGofer
import P9
import Synchronization
import TestSupport
import XCTest

/// A server dying or closing under a client: every pending call fails within 1 s of the fault, and the client
/// leaks no fid, tag, descriptor or thread. Each case prints its time to fail (the fault table).
final class FaultTests: XCTestCase {
    /// Calls put in flight per case.
    static let calls = 4

    /// goferd is stopped (SIGSTOP) so the calls are sent and unanswered, then SIGKILLed; returns the time to fail.
    private func killDuring(_ what: String, file: String = "data", open: OpenFlags? = .readWrite, channels: Int = 0,
                            _ call: @escaping @Sendable (ClientFile, ClientFile) throws -> Void) throws {
        let child = try GoferdChild(files: [file: patternBytes(1 << 20), "d1/d2/d3/leaf": [1]], arguments: ["--no-donate"])
        let descriptorsBefore = openDescriptorIdentities()
        let threadsBefore = threadIDs()
        let client = try child.connect(ClientOptions(channels: channels))
        XCTAssertEqual(client.channelCount, channels, "\(what): goferd grants every channel asked for")
        let root = try client.attach()
        var files: [ClientFile] = []
        for _ in 0..<Self.calls {
            let (_, f) = try root.walk([file])
            if let open { _ = try f.open(open) }
            files.append(f)
        }
        let held = client.fidsInUse
        XCTAssertEqual(held, 1 + Self.calls)

        XCTAssertEqual(kill(child.pid, SIGSTOP), 0)
        // SIGSTOP lands asynchronously: until goferd is really stopped it could still answer a call sent now.
        XCTAssertTrue(waitUntil { processState(child.pid) == "T" }, "\(what): goferd stopped")
        let failedAt = Locked<[UInt64]>([])
        let errors = Locked<[String]>([])
        let workers = files.map { f in
            Worker {
                do { try call(root, f) } catch {
                    failedAt.withLock { $0.append(monotonicNanoseconds()) }
                    errors.withLock { $0.append("\(error)") }
                }
            }
        }
        XCTAssertTrue(waitUntil { client.tagsInUse == Self.calls }, "\(what): every call in flight before the fault")
        let fault = monotonicNanoseconds()
        XCTAssertEqual(kill(child.pid, SIGKILL), 0)
        for w in workers { XCTAssertTrue(w.join(timeout: 5), "\(what): a call hung after the server died") }
        let times = failedAt.withLock { $0 }
        XCTAssertEqual(times.count, Self.calls, "\(what): every pending call fails (\(errors.withLock { $0 }))")
        let worst = Double((times.max() ?? fault) - fault) / 1e6
        print("fault: goferd SIGKILLed during \(what): \(times.count)/\(Self.calls) pending calls failed, the last after \(String(format: "%.2f", worst)) ms")
        XCTAssertLessThan(worst, 1000, "\(what): pending calls fail within 1 s")

        XCTAssertTrue(client.isClosed)
        XCTAssertEqual(client.tagsInUse, 0, "\(what): no tag left")
        XCTAssertEqual(client.fidsInUse, held, "\(what): a failed call frees any fid it took")
        for f in files { try? f.clunk() }
        try? root.clunk()
        XCTAssertEqual(client.fidsInUse, 0, "\(what): fids of a dead connection are freed by clunk")
        client.close()
        child.waitForExit()
        XCTAssertTrue(waitUntil { descriptorsOpened(since: descriptorsBefore).isEmpty },
                      "\(what): no descriptor left in the client: \(descriptorsOpened(since: descriptorsBefore))")
        XCTAssertTrue(waitUntil { threadsStarted(since: threadsBefore).isEmpty },
                      "\(what): no thread left in the client: \(threadsStarted(since: threadsBefore))")
    }

    func testServerKilledDuringReads() throws {
        try killDuring("a read") { _, f in
            var buffer = [UInt8](repeating: 0, count: 256 << 10)
            _ = try buffer.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }
        }
    }

    func testServerKilledDuringWrites() throws {
        // 256 KiB each: more than the socket buffers hold, so some callers are still sending when it dies.
        try killDuring("a write") { _, f in
            let bytes = patternBytes(256 << 10, seed: 9)
            _ = try bytes.withUnsafeBytes { try f.write(from: $0, at: 0) }
        }
    }

    // Over channels (one per caller): each call waits on the futex of its channel, not on the socket.

    func testServerKilledDuringReadsOnChannels() throws {
        try killDuring("a read on a channel", channels: Self.calls) { _, f in
            var buffer = [UInt8](repeating: 0, count: 256 << 10)
            _ = try buffer.withUnsafeMutableBytes { try f.read(into: $0, at: 0) }
        }
    }

    func testServerKilledDuringWalksOnChannels() throws {
        try killDuring("a walk on a channel", open: nil, channels: Self.calls) { root, _ in
            _ = try root.walk(["d1", "d2", "d3", "leaf"])
        }
    }

    func testServerKilledDuringWalks() throws {
        try killDuring("a walk", open: nil) { root, _ in
            _ = try root.walk(["d1", "d2", "d3", "leaf"])
        }
    }

    /// The in-process server stops (closing every connection) while callers keep calls in flight.
    func testServerClosingWithCallsInFlight() throws { try closeWithCallsInFlight(channels: 0) }

    /// The same with every caller on a channel of its own: the server posts `closed` on each.
    func testServerClosingWithCallsInFlightOnChannels() throws { try closeWithCallsInFlight(channels: Self.calls) }

    private func closeWithCallsInFlight(channels: Int) throws {
        let tmp = try TemporaryDirectory(prefix: "fault-close")
        defer { tmp.remove() }
        try tmp.write("data", patternBytes(1 << 20))
        let server = Server(fileServer: try LocalGofer(root: tmp.path), options: ServerOptions(workers: 2, channels: channels))
        let descriptorsBefore = openDescriptorIdentities()
        let threadsBefore = threadIDs()
        var sv: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv), 0)
        server.serve(fd: sv[1])
        let client = try Client(transport: StreamTransport(fd: sv[0]), options: ClientOptions(channels: channels))
        XCTAssertEqual(client.channelCount, channels)
        let root = try client.attach()
        let failedAt = Locked<[UInt64]>([])
        let completed = Atomic<Int>(0)
        let reading = Atomic<Int>(0)  // callers past walk and open, inside their read loop
        let workers = (0..<Self.calls).map { i in
            Worker {
                let (_, f) = try root.walk(["data"])
                if let fd = try f.open(.readOnly).hostFD { try fd.close() }
                var buffer = [UInt8](repeating: 0, count: 64 << 10)
                reading.add(1, ordering: .relaxed)
                do {
                    while true {
                        _ = try buffer.withUnsafeMutableBytes { try f.read(into: $0, at: UInt64(i) << 16) }
                        completed.add(1, ordering: .relaxed)
                    }
                } catch {
                    failedAt.withLock { $0.append(monotonicNanoseconds()) }
                }
                try? f.clunk()
            }
        }
        // Every caller in its read loop before the fault (a fast server can serve 100 reads before one starts).
        XCTAssertTrue(waitUntil {
            reading.load(ordering: .relaxed) == Self.calls && completed.load(ordering: .relaxed) >= 100 && client.tagsInUse > 0
        })
        let fault = monotonicNanoseconds()
        server.stop()
        for w in workers { XCTAssertTrue(w.join(timeout: 5), "a call hung after the server closed") }
        let times = failedAt.withLock { $0 }
        XCTAssertEqual(times.count, Self.calls, "every caller saw the connection fail")
        let worst = Double((times.max() ?? fault) - fault) / 1e6
        print("fault: server closed with calls in flight\(channels > 0 ? " on channels" : ""): \(times.count)/\(Self.calls) callers failed, the last after \(String(format: "%.2f", worst)) ms")
        XCTAssertLessThan(worst, 1000)
        XCTAssertTrue(client.isClosed)
        XCTAssertEqual(client.tagsInUse, 0)
        try? root.clunk()
        XCTAssertEqual(client.fidsInUse, 0, "every fid freed")
        client.close()
        XCTAssertTrue(waitUntil { server.connectionCount == 0 })
        XCTAssertTrue(waitUntil { descriptorsOpened(since: descriptorsBefore).isEmpty }, "no descriptor left: \(descriptorsOpened(since: descriptorsBefore))")
        XCTAssertTrue(waitUntil { threadsStarted(since: threadsBefore).isEmpty }, "no thread left: \(threadsStarted(since: threadsBefore))")
    }
}

/// The state letter of /proc/PID/stat (R, S, T, ...), or nil when it cannot be read.
private func processState(_ pid: pid_t) -> Character? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    return stat[stat.index(after: close)...].first { $0 != " " }
}
