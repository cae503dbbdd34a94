import Glibc
import Dispatch
import Synchronization

/// Work a `WorkerPool` runs.
protocol PoolTask: AnyObject, Sendable {
    func run()
}

/// A fixed set of threads draining one FIFO of tasks (shared by every connection of a server).
final class WorkerPool: Sendable {
    private struct Queue {
        /// Dequeued slots are set to nil at once so a finished task (and its connection) is not kept alive.
        var items: [(any PoolTask)?] = []
        var head = 0
        var stopping = false
    }

    private let queue = Mutex(Queue())
    /// Counts queued tasks plus one wake-up per thread at shutdown.
    private let ready = DispatchSemaphore(value: 0)
    private let threadCount: Int

    /// Starts `threads` workers.
    init(threads: Int) {
        threadCount = max(1, threads)
        for _ in 0..<threadCount {
            startThread { [self] in self.work() }
        }
    }

    /// Queues `task`; false once the pool is stopping.
    @discardableResult
    func submit(_ task: any PoolTask) -> Bool {
        let ok = queue.withLock { q -> Bool in
            guard !q.stopping else { return false }
            q.items.append(task)
            return true
        }
        if ok { ready.signal() }
        return ok
    }

    /// Lets the workers finish what is queued, then exit.
    func shutdown() {
        let first = queue.withLock { q -> Bool in
            defer { q.stopping = true }
            return !q.stopping
        }
        guard first else { return }
        for _ in 0..<threadCount { ready.signal() }
    }

    private func work() {
        while true {
            ready.wait()
            let task = queue.withLock { q -> (any PoolTask)?? in
                if q.head < q.items.count {
                    let t = q.items[q.head]
                    q.items[q.head] = nil
                    q.head += 1
                    // Compact now and then so the array does not grow without bound.
                    if q.head >= 1024 && q.head * 2 >= q.items.count {
                        q.items.removeFirst(q.head)
                        q.head = 0
                    }
                    return .some(t!)
                }
                return q.stopping ? .none : .some(nil)
            }
            switch task {
            case .none: return
            case .some(nil): continue
            case .some(let t?): t.run()
            }
        }
    }
}

/// Boxes a thread body for pthread_create.
private final class ThreadBody {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// Starts a detached thread running `body`.
func startThread(_ body: @escaping @Sendable () -> Void) {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var tid = pthread_t()
    var attr = pthread_attr_t()
    pthread_attr_init(&attr)
    pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
    let r = pthread_create(&tid, &attr, { raw in
        let b = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
        b.body()
        return nil
    }, box)
    pthread_attr_destroy(&attr)
    precondition(r == 0, "pthread_create failed: \(r)")
}
