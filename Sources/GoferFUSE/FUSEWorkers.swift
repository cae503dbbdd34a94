import CFuse3
import Glibc
import P9

/// The threads serving one FUSE session: each reads a request from /dev/fuse and processes it until the kernel
/// lets go of the mount (every blocked read then fails with ENODEV and libfuse marks the session exited).
///
/// libfuse's fuse_session_loop_mt ends by pthread_cancel-ing its workers inside that read; a thread cancelled in
/// an intercepted call ends with ThreadSanitizer's ignores still on, which aborts the process. Here every worker
/// returns by itself and is joined.
enum FUSEWorkers {
    /// Runs `count` workers on `session` and returns once all have exited: 0, or the first negative errno a read
    /// failed with (an aborted connection, which wakes every reader).
    static func run(_ session: OpaquePointer, count: Int) -> Int32 {
        let failure = FirstFailure()
        let address = Int(bitPattern: session)  // the session outlives every worker: they are joined below
        let threads = (0..<max(1, count)).map { _ in
            startJoinable { serveRequests(OpaquePointer(bitPattern: address)!, failure: failure) }
        }
        for t in threads { pthread_join(t, nil) }
        return failure.value
    }

    /// One worker's loop (libfuse's fuse_do_work without the cancellation).
    private static func serveRequests(_ session: OpaquePointer, failure: FirstFailure) {
        var buf = fuse_buf()  // libfuse allocates `mem` at the first read
        defer { free(buf.mem) }
        while fuse_session_exited(session) == 0 {
            let r = fuse_session_receive_buf(session, &buf)
            if r == -EINTR { continue }
            if r <= 0 {  // 0: unmounted (libfuse has exited the session)
                if r < 0 {
                    failure.record(r)
                    fuse_session_exit(session)
                }
                return
            }
            fuse_session_process_buf(session, &buf)
        }
    }

    /// Starts a joinable thread running `body` with every signal blocked (signals go to the process's own threads).
    private static func startJoinable(_ body: @escaping @Sendable () -> Void) -> pthread_t {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var all = sigset_t(), old = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        var tid = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let r = pthread_create(&tid, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
        precondition(r == 0, "pthread_create failed: \(r)")
        return tid
    }
}

/// The first negative errno a worker saw (0: none).
private final class FirstFailure: Sendable {
    private let first = Locked<Int32>(0)
    func record(_ e: Int32) { first.withLock { if $0 == 0 { $0 = e } } }
    var value: Int32 { first.withLock { $0 } }
}
