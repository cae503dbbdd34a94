import Glibc
import LocalGofer
import P9
import Foundation
import XCTest

/// An in-process goferd (P9.Server over LocalGofer, serving up to 4 channels a connection, as goferd does); each
/// connection is a fresh socketpair that carries FDs.
final class InProcessGoferd: Sendable {
    let server: Server

    init(export: String) throws {
        server = Server(fileServer: try LocalGofer(root: export), options: ServerOptions(channels: 4))
    }

    /// A client transport whose other end the server serves.
    func connect() throws -> StreamTransport {
        var sv: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        server.serve(fd: sv[1])  // the server owns this end
        return StreamTransport(fd: sv[0])
    }
}
