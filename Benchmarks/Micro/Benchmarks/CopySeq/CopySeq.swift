import Benchmark
import SafeMem

// copySeq of 1 MiB as one block vs 16 blocks: the buffered multi-block path's extra cost.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(2))
    let size = 1 << 20
    let src = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    src.initializeMemory(as: UInt8.self, repeating: 7)
    let dst = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    let one = BlockSeq(Block(dst))
    let sixteen = BlockSeq((0..<16).map { Block(base: dst.baseAddress! + $0 * (size / 16), count: size / 16) })
    let source = BlockSeq(Block(src))

    Benchmark("copySeq 1 MiB, 1 block", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try copySeq(dst: one, src: source)) }
    }
    Benchmark("copySeq 1 MiB, 16 blocks", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try copySeq(dst: sixteen, src: source)) }
    }
    let safe = BlockSeq(Block(base: dst.baseAddress, count: size, needsSafeCopy: true))
    Benchmark("copySeq 1 MiB, 1 safe-copy block", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try copySeq(dst: safe, src: source)) }
    }
}
