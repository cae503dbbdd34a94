import Glibc
import Synchronization

/// The server-wide allowance of threads beyond each connection's first (ServerOptions.extraThreads).
final class ThreadBudget: Sendable {
    private let used = Atomic<Int>(0)
    let limit: Int

    init(limit: Int) { self.limit = max(0, limit) }

    /// Takes one thread from the allowance; false when it is spent.
    func take() -> Bool {
        var current = used.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = used.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives one thread back.
    func give() { used.subtract(1, ordering: .acquiringAndReleasing) }

    /// Threads taken now.
    var inUse: Int { used.load(ordering: .relaxed) }
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
        // splice(2) into a socket has no MSG_NOSIGNAL: a peer gone mid-splice must be EPIPE, not a SIGPIPE that
        // kills the process hosting the server.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        b.body()
        return nil
    }, box)
    pthread_attr_destroy(&attr)
    precondition(r == 0, "pthread_create failed: \(r)")
}

