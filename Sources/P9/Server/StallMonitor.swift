import Glibc
import Dispatch
import Synchronization

/// Watches the connections of a server for a request that runs long on the thread holding the receive role,
/// and lets another thread take over reading that connection (Go's sysmon retaking a P from a blocked thread).
///
/// A lone request therefore runs on the thread that read it, with no hand-off; only one that is still running
/// a tick later costs a thread. The monitor ticks while requests arrive, stretching its tick while it finds no
/// request running (as Go's sysmon does), and sleeps once requests stop.
final class StallMonitor: Sendable {
    /// The tick after a look found a request running; one still running at the next look gets a rescuer.
    static let tick: Duration = .milliseconds(1)
    /// The longest tick, reached by doubling while no request is found running.
    static let longestTick: Duration = .milliseconds(8)
    /// Ticks without a request started before the monitor sleeps until the next one.
    static let idleTicks = 32

    private let activity = Atomic<UInt64>(0)
    private let sleeping = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let wakeup = DispatchSemaphore(value: 0)
    /// The connections to look at (the server's, read through a weak reference so the monitor never keeps it alive).
    private let connections: @Sendable () -> [ServerConnection]?

    init(connections: @escaping @Sendable () -> [ServerConnection]?) {
        self.connections = connections
    }

    /// Starts the monitor thread (once).
    func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        startThread { [self] in self.run() }
    }

    /// Called as a request starts on a role holder: keeps the monitor ticking (and wakes it when asleep).
    @inline(__always)
    func noteActivity() {
        activity.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if sleeping.load(ordering: .sequentiallyConsistent), sleeping.exchange(false, ordering: .sequentiallyConsistent) {
            wakeup.signal()
        }
    }

    /// Ends the monitor thread.
    func stop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        wakeup.signal()
    }

    private func run() {
        var idle = 0
        var last = activity.load(ordering: .sequentiallyConsistent)
        let shortest = Self.tick.nanosecondCount, longest = Self.longestTick.nanosecondCount
        var tick = shortest
        while !stopped.load(ordering: .sequentiallyConsistent) {
            if idle >= Self.idleTicks {
                // Declare sleep, then look again: a request starting meanwhile either sees the flag or is seen here.
                sleeping.store(true, ordering: .sequentiallyConsistent)
                if activity.load(ordering: .sequentiallyConsistent) == last && !stopped.load(ordering: .sequentiallyConsistent) {
                    wakeup.wait()
                }
                sleeping.store(false, ordering: .sequentiallyConsistent)
                idle = 0
                tick = shortest
            } else {
                var pause = timespec(tv_sec: Int(tick / 1_000_000_000), tv_nsec: Int(tick % 1_000_000_000))
                var rest = timespec()
                _ = nanosleep(&pause, &rest)
            }
            guard let list = connections() else { return }
            var running = false
            for c in list where c.checkStall() { running = true }
            tick = running ? shortest : min(tick * 2, longest)
            let now = activity.load(ordering: .sequentiallyConsistent)
            idle = (now == last && !running) ? idle + 1 : 0
            last = now
        }
    }
}
