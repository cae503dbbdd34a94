import Glibc
import SafeMem
import SystemPackage
import TestSupport
import XCTest

final class CopyTests: XCTestCase {
    func testCopySeqBetweenDifferentLayouts() throws {
        let a = Arena()
        let data = patternBytes(1000)
        let src = BlockSeq([a.block(Array(data[0..<7])), a.block(Array(data[7..<500])), a.block(Array(data[500...]))])
        let layouts: [[Int]] = [[1000], [1, 999], [333, 333, 334], [64, 64, 64, 64, 744], [999, 1]]
        for sizes in layouts {
            let dst = BlockSeq(sizes.map { a.zeros($0) })
            XCTAssertEqual(try copySeq(dst: dst, src: src), 1000, "\(sizes)")
            XCTAssertEqual(bytes(of: dst), data, "\(sizes)")
        }
        // Shorter destination: copies what fits.
        let small = BlockSeq([a.zeros(10), a.zeros(5)])
        XCTAssertEqual(try copySeq(dst: small, src: src), 15)
        XCTAssertEqual(bytes(of: small), Array(data[0..<15]))
    }

    func testSafeCopyBlocksCopyCorrectly() throws {
        let a = Arena()
        let data = patternBytes(9000, seed: 3)
        let s = a.block(data)
        let src = BlockSeq(Block(base: s.base, count: s.count, needsSafeCopy: true))
        let d1 = a.zeros(4000), d2 = a.zeros(5000)
        let dst = BlockSeq([Block(base: d1.base, count: d1.count, needsSafeCopy: true), d2])
        XCTAssertEqual(try copySeq(dst: dst, src: src), 9000)
        XCTAssertEqual(bytes(of: BlockSeq([d1, d2])), data)
        XCTAssertEqual(try zeroSeq(dst), 9000)
        XCTAssertEqual(bytes(of: BlockSeq([d1, d2])), [UInt8](repeating: 0, count: 9000))
    }

    func testSafeCopyOverUnmappedPageIsAnErrorWithPartialCount() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let map = mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), map != MAP_FAILED else {
            return XCTFail("mmap failed")
        }
        defer { munmap(map, page) }
        memset(map, 0x5A, page)
        XCTAssertEqual(munmap(map + page, page), 0)
        let a = Arena()
        let faulting = Block(base: map + page / 2, count: page, needsSafeCopy: true)  // half mapped, half not
        let dst = BlockSeq(a.zeros(page))
        XCTAssertThrowsError(try copySeq(dst: dst, src: BlockSeq(faulting))) { error in
            let e = error as? TransferError
            XCTAssertEqual(e?.bytes, page / 2)
            XCTAssertEqual(e?.errno, .badAddress)
        }
        XCTAssertEqual(bytes(of: dst).prefix(page / 2).allSatisfy { $0 == 0x5A }, true)
        // Writing into the faulting block fails the same way.
        let src = BlockSeq(a.block(patternBytes(page)))
        XCTAssertThrowsError(try copySeq(dst: BlockSeq(faulting), src: src)) { error in
            XCTAssertEqual((error as? TransferError)?.bytes, page / 2)
        }
        XCTAssertThrowsError(try zeroSeq(BlockSeq(faulting))) { error in
            XCTAssertEqual((error as? TransferError)?.bytes, page / 2)
        }
    }
}
