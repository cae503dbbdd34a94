import Glibc

/// Joinable threads started together and joined together (the relay's readers and senders).
final class RelayThreads: @unchecked Sendable {  // `threads` is written only by the owner before and at `joinAll`
    private var threads: [pthread_t] = []

    /// Boxes a thread body for pthread_create.
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// The name every relay thread carries (its /proc comm), so tools and tests can find them.
    static let name = "link-relay"

    /// Starts a joinable thread running `body`; false when the system refused one.
    func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var tid = pthread_t()
        let r = pthread_create(&tid, nil, { raw in
            let b = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            RelayThreads.nameCurrentThread()
            b.run()
            return nil
        }, box)
        guard r == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            return false
        }
        threads.append(tid)
        return true
    }

    /// Names the calling thread (pthread_setname_np is not visible to Swift; its /proc comm file is).
    private static func nameCurrentThread() {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = name.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    /// Waits for every started thread to return; idempotent.
    func joinAll() {
        for t in threads { pthread_join(t, nil) }
        threads.removeAll()
    }
}
