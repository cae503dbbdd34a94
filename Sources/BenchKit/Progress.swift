#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import Foundation
import P9

/// Progress of a run on standard error: on a terminal a live line per scenario (done/total, elapsed, ETA)
/// rewritten in place about four times a second; elsewhere one line per finished scenario.
public final class Progress: Sendable {
    private struct State {
        var scenario = ""
        var index = 0
        var scenarios = 0
        var done = 0
        var total = 0
        var start: UInt64 = 0
        var running = false
    }

    /// Whether anything is written at all (`--quiet` turns it off).
    public let enabled: Bool
    /// Whether standard error is a terminal (live line) or not (one line per scenario).
    public let live: Bool
    private let write: @Sendable (String) -> Void
    private let state = Locked(State())
    /// Whether a live line is on screen; held while the line is drawn or standard output is written around it, so the
    /// two never interleave (a value, not Void: see `Locked`).
    private let output = Locked(false)

    /// Progress written with `write` (standard error by default), live when `live` (standard error is a terminal).
    public init(enabled: Bool, live: Bool = isatty(2) == 1, write: @escaping @Sendable (String) -> Void = Progress.standardError) {
        self.enabled = enabled
        self.live = live
        self.write = write
    }

    /// A scenario with `total` combinations starts (number `index` of `scenarios`).
    public func begin(_ scenario: String, index: Int, of scenarios: Int, total: Int) {
        guard enabled else { return }
        let startTicker = state.withLock { s -> Bool in
            s = State(scenario: scenario, index: index, scenarios: scenarios, done: 0, total: total, start: monotonicNow(),
                      running: s.running)
            defer { s.running = true }
            return live && !s.running
        }
        if startTicker {
            Thread { [self] in
                while state.withLock({ $0.running }) {
                    redraw()
                    usleep(250_000)
                }
            }.start()
        }
        redraw()
    }

    /// One combination of the current scenario finished.
    public func step() {
        guard enabled else { return }
        state.withLock { $0.done += 1 }
        redraw()
    }

    /// The current scenario finished: the live line is cleared, or the one line written.
    public func end() {
        guard enabled else { return }
        let s = state.withLock { $0 }
        if live {
            clear()
        } else {
            emit("progress: [\(s.index)/\(s.scenarios)] \(s.scenario) \(s.done)/\(s.total) in "
                 + Units.formatNanoseconds(Double(monotonicNow() - s.start)) + "\n")
        }
    }

    /// Stops the ticker and clears the line.
    public func finish() {
        guard enabled else { return }
        state.withLock { $0.running = false }
        clear()
    }

    /// Runs `body` (printing to standard output) with the live line out of the way.
    public func around(_ body: () -> Void) {
        guard enabled && live else { body(); return }
        output.withLock { shown in
            clearLocked(&shown)
            body()
            redrawLocked(&shown)
        }
    }

    /// The live line's text.
    public static func line(scenario: String, index: Int, of scenarios: Int, done: Int, total: Int, elapsedNs: UInt64) -> String {
        let elapsed = Double(elapsedNs)
        let eta = done > 0 ? Units.formatNanoseconds(elapsed / Double(done) * Double(total - done)) : "?"
        return "[\(index)/\(scenarios)] \(scenario): \(done)/\(total) done, elapsed "
            + Units.formatNanoseconds(elapsed) + ", ETA " + eta
    }

    private func redraw() {
        guard enabled && live else { return }
        output.withLock { redrawLocked(&$0) }
    }

    private func redrawLocked(_ shown: inout Bool) {
        let text = state.withLock { s -> String? in
            guard s.running || s.total > 0, !s.scenario.isEmpty else { return nil }
            return Self.line(scenario: s.scenario, index: s.index, of: s.scenarios, done: s.done, total: s.total,
                             elapsedNs: monotonicNow() - s.start)
        }
        guard let text else { return }
        emit("\r\u{1B}[K" + text)
        shown = true
    }

    private func clear() { output.withLock { clearLocked(&$0) } }

    private func clearLocked(_ shown: inout Bool) {
        if shown { emit("\r\u{1B}[K") }
        shown = false
    }

    private func emit(_ text: String) { write(text) }

    /// Writes `text` to standard error (file descriptor 2) in full.
    public static func standardError(_ text: String) {
        var bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + off, $0.count - off) }
            if n <= 0 { break }
            off += n
        }
    }
}
