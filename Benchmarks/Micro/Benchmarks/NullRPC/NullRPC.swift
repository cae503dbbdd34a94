import Benchmark
import Foundation
import Glibc
import LocalGofer
import P9

// One Tgetattr round trip to an in-process goferd, over a socketpair and over a shared-memory channel: the client
// call path's cost and allocations.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3))
    let root = NSTemporaryDirectory() + "/swift-gofer-nullrpc-\(getpid())"
    try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let server = Server(fileServer: try! LocalGofer(root: root))
    var sv: [Int32] = [-1, -1]
    precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0)
    server.serve(fd: sv[1])
    let client = try! Client(transport: StreamTransport(fd: sv[0]))
    let file = try! client.attach()

    Benchmark("null RPC: Tgetattr over a socketpair") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try file.getAttr(.basic).qid) }
    }

    // The same over a shared-memory channel (the socket carries only Tversion and Tchannel).
    let channelServer = Server(fileServer: try! LocalGofer(root: root), options: ServerOptions(channels: 1))
    var cv: [Int32] = [-1, -1]
    precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &cv) == 0)
    channelServer.serve(fd: cv[1])
    let channelClient = try! Client(transport: StreamTransport(fd: cv[0]), options: ClientOptions(channels: 1))
    precondition(channelClient.channelCount == 1, "the server granted no channel")
    let channelFile = try! channelClient.attach()

    Benchmark("null RPC: Tgetattr over a shared-memory channel") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try channelFile.getAttr(.basic).qid) }
    }
}
