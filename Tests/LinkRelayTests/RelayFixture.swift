import Foundation
import Glibc
import LinkRelay
import LocalGofer
import P9
import SystemPackage
import TestSupport
import XCTest

/// Two raw ends joined through a relay: the test writes and reads whole frames on `client` and `server`.
final class RawLink {
    let client: StreamTransport
    let server: StreamTransport
    let relay: LinkRelay

    init(_ delay: LinkDelay, seed: UInt64 = 1, byteLimit: Int = LinkRelay.defaultByteLimit) throws {
        let (server, serverSide) = try StreamTransport.socketPair()
        self.server = server
        (relay, client) = try LinkRelay.inFront(of: serverSide, delay: delay, seed: seed, byteLimit: byteLimit)
    }

    func close() {
        relay.close()
        client.close()
        server.close()
    }
}

/// A frame as the relay sees it: size[4] type[1] tag[2] and a body.
func frameBytes(type: UInt8, tag: UInt16, body: [UInt8]) -> [UInt8] {
    let size = UInt32(Frame.headerSize + body.count)
    var out: [UInt8] = withUnsafeBytes(of: size.littleEndian) { Array($0) }
    out.append(type)
    out += withUnsafeBytes(of: tag.littleEndian) { Array($0) }
    return out + body
}

/// Reads one whole frame (header, then exactly its body, as the Client does) with the descriptors that came with it;
/// nil at EOF.
func readFrame(_ t: StreamTransport) throws -> (bytes: [UInt8], fds: [Int32])? {
    var fds: [Int32] = []
    var header = [UInt8](repeating: 0, count: Frame.headerSize)
    guard try header.withUnsafeMutableBytes({ try t.receiveFully(into: $0, fds: &fds) }) else { return nil }
    let size = Int(header.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian)
    var body = [UInt8](repeating: 0, count: size - Frame.headerSize)
    if !body.isEmpty {
        guard try body.withUnsafeMutableBytes({ try t.receiveFully(into: $0, fds: &fds) }) else {
            throw Errno.connectionReset
        }
    }
    return (header + body, fds)
}

/// Sends `bytes` as one sendmsg with `fds` attached.
func sendFrame(_ t: StreamTransport, _ bytes: [UInt8], fds: [Int32] = []) throws {
    try bytes.withUnsafeBytes { try t.send($0, fds: fds) }
}

/// Threads of this process named like the relay's.
func relayThreadCount() -> Int {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.filter { tid in
        let comm = (try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)) ?? ""
        return comm.trimmingCharacters(in: .whitespacesAndNewlines) == LinkRelay.threadName
    }.count
}

/// An in-process goferd over a temporary export, reached through a relay.
final class GoferLink {
    let tmp: TemporaryDirectory
    let export: String
    let server: Server
    let relay: LinkRelay
    let client: Client

    init(_ delay: LinkDelay, files: [String: [UInt8]] = [:]) throws {
        tmp = try TemporaryDirectory(prefix: "linkrelay")
        export = tmp.appending("export")
        try tmp.write("export/.keep", [])
        for (name, bytes) in files { try tmp.write("export/" + name, bytes) }
        server = Server(fileServer: try LocalGofer(root: export), options: ServerOptions(workers: 4))
        var sv: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0 else {
            throw Errno(rawValue: errno)
        }
        server.serve(fd: sv[0])
        let (relay, clientEnd) = try LinkRelay.inFront(of: StreamTransport(fd: sv[1]), delay: delay)
        self.relay = relay
        client = try Client(transport: clientEnd, options: ClientOptions(msize: 1 << 20))
    }

    func close() {
        client.close()
        relay.close()
        server.stop()
        tmp.remove()
    }
}
