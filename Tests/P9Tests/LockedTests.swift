import Dispatch
@testable import P9
import XCTest

/// `Locked`'s futex word: exclusive under contention, a busy lock is refused by the try form, and a waiter gets
/// the lock (and the holder's writes) once it is freed.
final class LockedTests: XCTestCase {
    func testContendedIncrementsAreExact() {
        let counter = Locked<Int>(0)
        let threads = 4, each = 100_000
        let workers = (0..<threads).map { _ in
            TestThread { for _ in 0..<each { counter.withLock { $0 += 1 } } }
        }
        for w in workers { XCTAssertTrue(w.join(timeout: 60)) }
        XCTAssertEqual(counter.withLock { $0 }, threads * each)
    }

    func testAWaiterGetsTheLockAndTheHoldersWritesOnceFreed() {
        let value = Locked<Int>(0)
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), waiting = DispatchSemaphore(value: 0)
        let holder = TestThread {
            value.withLock { v in
                holding.signal()
                release.wait()
                v = 1
            }
        }
        holding.wait()
        XCTAssertNil(value.withLockIfAvailable { $0 }, "the try form must refuse a held lock")
        let seen = Locked<Int?>(nil)
        let waiter = TestThread {
            waiting.signal()
            let v = value.withLock { $0 }
            seen.withLock { $0 = v }
        }
        waiting.wait()
        release.signal()
        XCTAssertTrue(holder.join())
        XCTAssertTrue(waiter.join())
        XCTAssertEqual(seen.withLock { $0 }, 1, "the waiter ran only after the holder's write")
        XCTAssertEqual(value.withLockIfAvailable { $0 }, 1, "a freed lock is taken by the try form")
    }
}
