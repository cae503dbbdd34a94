import Dispatch
import Glibc
import Logging
import P9
import Synchronization

/// Set once a stop signal arrived.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// Stops a server on SIGINT or SIGTERM (the signals must already be blocked in every thread).
final class SignalStopper {
    private let sources: [any DispatchSourceSignal]
    private let flag = StopFlag()

    /// Whether a stop signal arrived.
    var stopped: Bool { flag.isSet }

    init(server: Server, logger: Logger) {
        let queue = DispatchQueue(label: "goferd.signals")
        sources = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: queue) }
        for (source, name) in zip(sources, ["SIGINT", "SIGTERM"]) {
            source.setEventHandler { [flag] in
                logger.notice("\(name): stopping")
                flag.set()
                server.stop()
            }
            source.resume()
        }
    }
}
