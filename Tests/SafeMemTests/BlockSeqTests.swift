import SafeMem
import XCTest

/// Owns a few buffers and hands out blocks over them.
final class Arena {
    private var buffers: [UnsafeMutableRawBufferPointer] = []
    func block(_ bytes: [UInt8]) -> Block {
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        b.copyBytes(from: bytes)
        buffers.append(b)
        return Block(base: bytes.isEmpty ? nil : b.baseAddress, count: bytes.count)
    }
    func zeros(_ n: Int) -> Block { block([UInt8](repeating: 0, count: n)) }
    deinit { buffers.forEach { $0.deallocate() } }
}

func bytes(of seq: BlockSeq) -> [UInt8] {
    var out: [UInt8] = []
    seq.forEachBlock { out += Array(UnsafeRawBufferPointer($0.buffer)) }
    return out
}

final class BlockSeqTests: XCTestCase {
    func testEmptyBlocksAreSkipped() {
        let a = Arena()
        let seq = BlockSeq([a.block([]), a.block([1, 2]), a.block([]), a.block([3]), a.block([])])
        XCTAssertEqual(seq.numBlocks, 2)
        XCTAssertEqual(seq.numBytes, 3)
        XCTAssertEqual(seq.head.count, 2)
        XCTAssertEqual(bytes(of: seq), [1, 2, 3])
        XCTAssertTrue(BlockSeq([a.block([]), a.block([])]).isEmpty)
        XCTAssertEqual(BlockSeq([a.block([]), a.block([])]).numBlocks, 0)
        XCTAssertEqual(BlockSeq().head.count, 0)
    }

    func testOneBlockIsHeldInline() {
        let a = Arena()
        let seq = BlockSeq([a.block([]), a.block([7, 8, 9])])
        XCTAssertEqual(seq.numBlocks, 1)
        XCTAssertEqual(bytes(of: seq.dropFirst(1)), [8, 9])
        XCTAssertEqual(bytes(of: seq.takeFirst(2)), [7, 8])
        XCTAssertTrue(seq.tail.isEmpty)
    }

    func testDropFirstInsideAndAcrossBlocks() {
        let a = Arena()
        let seq = BlockSeq([a.block([0, 1, 2]), a.block([3, 4]), a.block([5, 6, 7, 8])])
        XCTAssertEqual(bytes(of: seq.dropFirst(1)), [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(seq.dropFirst(1).head.count, 2)
        XCTAssertEqual(seq.dropFirst(3).numBlocks, 2)
        XCTAssertEqual(bytes(of: seq.dropFirst(4)), [4, 5, 6, 7, 8])
        XCTAssertEqual(seq.dropFirst(4).numBlocks, 2)
        XCTAssertEqual(bytes(of: seq.dropFirst(8)), [8])
        XCTAssertTrue(seq.dropFirst(9).isEmpty)
        XCTAssertTrue(seq.dropFirst(100).isEmpty)
        XCTAssertEqual(bytes(of: seq.tail), [3, 4, 5, 6, 7, 8])
        XCTAssertEqual(bytes(of: seq.tail.tail), [5, 6, 7, 8])
    }

    func testTakeFirstEdges() {
        let a = Arena()
        let seq = BlockSeq([a.block([0, 1, 2]), a.block([3, 4]), a.block([5, 6, 7, 8])])
        XCTAssertTrue(seq.takeFirst(0).isEmpty)
        XCTAssertEqual(bytes(of: seq.takeFirst(2)), [0, 1])
        XCTAssertEqual(seq.takeFirst(2).numBlocks, 1)
        XCTAssertEqual(bytes(of: seq.takeFirst(4)), [0, 1, 2, 3])
        XCTAssertEqual(seq.takeFirst(4).numBlocks, 2)
        XCTAssertEqual(seq.takeFirst(4).tail.numBytes, 1)
        // Past the end: the whole sequence.
        XCTAssertEqual(bytes(of: seq.takeFirst(1000)), Array(0...8))
        // Offsets inside blocks combined with a limit.
        let mid = seq.dropFirst(2).takeFirst(4)
        XCTAssertEqual(bytes(of: mid), [2, 3, 4, 5])
        XCTAssertEqual(mid.numBlocks, 3)
        XCTAssertEqual(mid.head.count, 1)
        XCTAssertEqual(bytes(of: mid.dropFirst(3)), [5])
    }

    func testIOVecsMatchBlocks() {
        let a = Arena()
        let seq = BlockSeq([a.block([0, 1, 2]), a.block([3, 4]), a.block([5])]).dropFirst(1)
        seq.withIOVecs { vecs in
            XCTAssertEqual(vecs.map(\.iov_len), [2, 2, 1])
        }
        seq.withIOVecs(limit: 2) { XCTAssertEqual($0.count, 2) }
    }
}
