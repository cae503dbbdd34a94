import Benchmark
import P9

// Encode/decode of the messages on every path walk and every read: allocations should be 0 for fixed-size frames.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(2))

    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    let walk = Twalk(fid: 1, newFid: 2, names: ["usr", "lib", "x86_64-linux-gnu"])

    Benchmark("encode Twalk (3 names)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Frame.encode(walk, tag: 7, into: buffer, msize: buffer.count))
        }
    }

    let frameLength = try! Frame.encode(walk, tag: 7, into: buffer, msize: buffer.count)
    let frame = UnsafeRawBufferPointer(rebasing: buffer[0..<frameLength])
    Benchmark("decode Twalk (3 names)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Frame.decode(Twalk.self, frame: frame).message.names.count)
        }
    }

    let header = UnsafeMutableRawBufferPointer.allocate(byteCount: Rread.headerSize, alignment: 16)
    try! Rread.encodeHeader(tag: 3, count: 65536, into: header)
    Benchmark("decode Rread header") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Rread.decodeHeader(UnsafeRawBufferPointer(header), limit: 1 << 20).count)
        }
    }

    Benchmark("encode Tgetattr") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Frame.encode(Tgetattr(fid: 9, requestMask: .all), tag: 1, into: buffer, msize: buffer.count))
        }
    }
}
