import Foundation
import P9
import SystemPackage
import XCTest
import Glibc

/// The server end of a socketpair, played by a test: reads request frames and writes chosen replies.
final class ClientFakeServer: @unchecked Sendable {  // used by one server thread at a time
    let transport: StreamTransport

    init(_ transport: StreamTransport) { self.transport = transport }

    struct Request {
        var type: UInt8
        var tag: Tag
        var body: [UInt8]
    }

    /// The next request, or nil when the client closed.
    func read() throws -> Request? {
        var fds: [Int32] = []
        var header = [UInt8](repeating: 0, count: Frame.headerSize)
        guard try header.withUnsafeMutableBytes({ try transport.receiveFully(into: $0, fds: &fds) }) else { return nil }
        let h = try header.withUnsafeBytes { try Frame.header($0, limit: 1 << 20) }
        var body = [UInt8](repeating: 0, count: h.size - Frame.headerSize)
        if !body.isEmpty {
            guard try body.withUnsafeMutableBytes({ try transport.receiveFully(into: $0, fds: &fds) }) else { return nil }
        }
        return Request(type: h.type, tag: h.tag, body: body)
    }

    /// Sends `message` as a reply with `tag`, optionally with descriptors attached.
    func reply<M: Message>(_ message: M, tag: Tag, fds: [Int32] = []) throws {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = try buffer.withUnsafeMutableBytes { try Frame.encode(message, tag: tag, into: $0, msize: 4096) }
        try buffer.withUnsafeBytes { try transport.send(UnsafeRawBufferPointer(rebasing: $0[..<n]), fds: fds) }
    }

    /// Sends raw bytes.
    func raw(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try transport.send($0) }
    }

    /// Answers Tversion offers: EAGAIN while the offered N is above `accept`, then Rversion with `msize`.
    @discardableResult
    /// With `refuseOver1MiB`, answers EINVAL to msize > 1 MiB as a gVisor server does.
    func handshake(accept: UInt32 = 0, msize: UInt32 = 65536, refuseOver1MiB: Bool = false) throws -> [String] {
        var offered: [String] = []
        while let r = try read() {
            guard r.type == MessageType.tversion.rawValue else { throw P9Error.protocolViolation("expected Tversion") }
            let v = try r.body.withUnsafeBytes { b -> Tversion in
                var d = WireDecoder(b)
                return try Tversion(from: &d)
            }
            offered.append(v.version)
            guard let n = P9Version.parse(v.version) else { throw P9Error.protocolViolation("bad version") }
            if refuseOver1MiB && v.msize > 1 << 20 {
                offered[offered.count - 1] += " msize \(v.msize)"
                try reply(Rlerror(errno: UInt32(EINVAL)), tag: r.tag)
                continue
            }
            if n > accept {
                try reply(Rlerror(errno: UInt32(EAGAIN)), tag: r.tag)
                continue
            }
            try reply(Rversion(msize: min(msize, v.msize), version: v.version), tag: r.tag)
            return offered
        }
        return offered
    }

    /// Reads a Tattach and answers Rattach.
    func answerAttach() throws {
        guard let r = try read(), r.type == MessageType.tattach.rawValue else { throw P9Error.protocolViolation("expected Tattach") }
        try reply(Rattach(qid: QID(type: .directory, path: 1)), tag: r.tag)
    }
}

/// Runs `body` on a new thread; `join` waits for it at most `timeout` seconds.
final class TestThread: @unchecked Sendable {  // `error` is written before `done` is signalled and read after
    private let done = DispatchSemaphore(value: 0)
    private(set) var error: Error?

    init(_ body: @escaping @Sendable () throws -> Void) {
        let t = Thread { [self] in
            do { try body() } catch { self.error = error }
            self.done.signal()
        }
        t.start()
    }

    /// True when the thread finished within `timeout` seconds.
    func join(timeout: Double = 10) -> Bool {
        done.wait(timeout: .now() + timeout) == .success
    }
}
