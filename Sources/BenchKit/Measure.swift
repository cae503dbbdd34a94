#if canImport(Glibc)
import Gofer
import Glibc
#endif
import BenchReport
import Foundation
import Histogram
import HostSupport
import P9
import Synchronization

/// Set by the SIGINT handler; the measurement loop stops at the next batch.
let interruptRequested = Atomic<Bool>(false)

/// CLOCK_MONOTONIC in nanoseconds.
@inline(__always)
func monotonicNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// RPC counts and wire bytes accumulated over many intervals.
struct RPCTally {
    var byType: [MessageType: Int] = [:]
    var bytes = 0

    var total: Int { byType.values.reduce(0, +) }

    mutating func add(_ d: RPCStats.Snapshot) {
        for (t, n) in d.byType { byType[t, default: 0] += n }
        bytes += d.bytesSent + d.bytesReceived
    }

    mutating func subtract(_ other: RPCTally) {
        for (t, n) in other.byType {
            byType[t, default: 0] -= n
            if byType[t] == 0 { byType[t] = nil }
        }
        bytes -= other.bytes
    }
}

/// What the measurement of one combination produced.
struct Measurement {
    var repetitions = 0
    var ops = 0
    var bytes = 0
    var opsPerS: [Double] = []
    var mibPerS: [Double] = []
    /// The round of each `opsPerS` sample (set when rounds are merged; empty for a single round).
    var sampleRounds: [Int] = []
    var inOp = RPCTally()
    var background = RPCTally()
    /// Time spent in the unmeasured background steps between ops.
    var backgroundNs: UInt64 = 0
    /// Payload bytes copied in client memory inside ops (the buffered multi-block path, the page cache).
    var copiedBytes = 0
    /// Per-op latency (ns); with batched clock reads every op of a batch is recorded as the batch mean.
    var latency = newLatencyHistogram()
    /// Ops per clock read (1: every op timed on its own).
    var batch = 1
    /// The bench process's CPU time over the repetitions.
    var cpu = CPUSeconds.zero
    /// The client threads' own CPU time (the runner thread and its workers).
    var clientCPU = CPUSeconds.zero
    /// The server's CPU time (nil: unknown).
    var serverCPU: CPUSeconds?
    /// With several threads: each thread's ops, bytes and time inside ops, summed over the repetitions.
    var threads: [CallerTally] = []
    /// With several client processes: each one's ops, bytes and time inside ops, summed over the repetitions.
    var clients: [CallerTally] = []
    /// Time inside ops over the repetitions (the denominator of the throughput samples).
    var busyNs: UInt64 = 0
    /// Each repetition's ops, bytes and time inside ops.
    var perRepetition: [CallerTally] = []
}

/// One concurrent caller's ops, bytes and time inside ops (its own loop's wall time).
struct CallerTally: Codable, Sendable {
    var ops = 0
    var bytes = 0
    var ns: UInt64 = 0

    mutating func add(_ o: CallerTally) {
        ops += o.ops
        bytes += o.bytes
        ns += o.ns
    }

    /// The slowest and the fastest of `callers` (nil with fewer than 2).
    static func spread(_ callers: [CallerTally], movesBytes: Bool) -> CallerSpread? {
        guard callers.count > 1 else { return nil }
        func rate(_ c: CallerTally, _ amount: Int) -> Double { Double(amount) / (Double(max(c.ns, 1)) / 1e9) }
        guard let ops = Span(callers.map { rate($0, $0.ops) }) else { return nil }
        return CallerSpread(count: callers.count, opsPerS: ops,
                            mibPerS: movesBytes ? Span(callers.map { rate($0, $0.bytes) / 1_048_576 }) : nil)
    }
}

/// Where the server's CPU time is read.
enum ServerCPUSource {
    /// A child process: /proc/PID/stat.
    case process(pid_t)
    /// Threads of this process: the process's time minus the client threads'.
    case inproc
    /// A server the bench does not see.
    case none
}

/// How long and how often to measure.
struct MeasureSettings {
    var repetitions: Int
    var warmup: Int
    var durationNs: UInt64
    var ops: Int?
    var trace: TraceWriter?
    var label: String
    /// Where the server's CPU time is read.
    var serverCPU: ServerCPUSource = .none
    /// The number of the first repetition (the repetitions of earlier rounds come before), for the trace.
    var firstRepetition = 0
}

/// Latencies from 1 ns to an hour with three significant digits.
func newLatencyHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
}

extension Histogram<UInt64> {
    /// Records `count` ops of `ns` each, clamped into the trackable range.
    mutating func recordLatency(_ ns: UInt64, count: Int = 1) {
        _ = record(Swift.min(Swift.max(ns, 1), highestTrackableValue), count: UInt64(count))
    }
}

/// Runs warm-up and repetitions of `instance`, counting the RPCs of `stats` (the measured connection's; a fresh one that
/// never counts anything for the native floor); on an error, `partial` keeps what was measured before it.
///
/// A repetition is its ops plus, for instances that close repetitions (write-back), `closeRepetition()`: its time and
/// RPCs count in the repetition (and its time in the latency of the repetition's last batch). Background steps run
/// between ops, outside the measured time, and are timed apart.
func measure(_ instance: any ScenarioInstance, stats: RPCStats, copies: PayloadCopies, settings s: MeasureSettings,
             partial: inout Measurement) throws {
    // Warm-up: `warmup` unmeasured ops and, when repetitions last a duration, at least half of one up to 50 ms (a cache
    // that fills slowly, such as the client's pages under random reads, is full before the first repetition); their
    // mean picks the batch size (clock reads batched for sub-microsecond ops).
    var warmNs: UInt64 = 0
    var warmOps = 0
    let warmStart = monotonicNow(), warmTime = min(s.durationNs / 2, 50_000_000)
    while warmOps < s.warmup || (s.warmup > 0 && s.ops == nil && monotonicNow() - warmStart < warmTime) {
        if interruptRequested.load(ordering: .relaxed) { throw BenchError.interrupted }
        if instance.hasBackground { try instance.background() }
        let t0 = monotonicNow()
        for t in 0..<instance.threads { _ = try instance.op(thread: t) }
        warmNs += monotonicNow() - t0
        warmOps += 1
    }
    if s.warmup > 0 && instance.closesRepetitions { try instance.closeRepetition() }  // the warm-up's writes stay unmeasured
    var batch = 1
    if !instance.hasBackground && s.trace == nil && s.warmup > 0 {
        let mean = Double(warmNs) / Double(warmOps * instance.threads)
        if mean < 2_000 { batch = min(1024, max(1, Int(4_000 / max(mean, 1)))) }
    }
    partial.batch = batch
    let process0 = CPUClock.process(), thread0 = CPUClock.thread()
    let server0: CPUSeconds? = if case let .process(pid) = s.serverCPU { CPUClock.process(pid) } else { nil }
    var workers = CPUSeconds.zero
    defer {
        let process = CPUClock.process() - process0
        let client = CPUClock.thread() - thread0 + workers
        partial.cpu = process
        partial.clientCPU = client
        switch s.serverCPU {
        case let .process(pid): partial.serverCPU = server0.flatMap { s0 in CPUClock.process(pid).map { $0 - s0 } }
        case .inproc: partial.serverCPU = process - client
        case .none: partial.serverCPU = nil
        }
    }
    for rep in 0..<s.repetitions {
        if s.trace != nil { stats.startTrace() }
        var windows: [(UInt64, UInt64, Int)] = []
        let before = stats.snapshot()
        let copiesBefore = copies.value
        var backgroundCopies = 0
        var background = RPCTally()
        var ops = 0, bytes = 0
        var busyNs: UInt64 = 0
        let start = monotonicNow()
        /// The scenario's background step: unmeasured, its RPCs and copies counted as background.
        func runBackground() throws {
            let b0 = stats.snapshot()
            let c0 = copies.value
            let t0 = monotonicNow()
            try instance.background()
            partial.backgroundNs += monotonicNow() - t0
            background.add(stats.snapshot() - b0)
            backgroundCopies += copies.value - c0
        }
        if instance.threads > 1 {
            guard let concurrent = instance as? any ConcurrentScenarioInstance else {
                throw BenchError.skip("this scenario runs on one thread only")
            }
            // Once per repetition (threads run their ops back to back).
            if instance.hasBackground { try runBackground() }
            let r = try runThreads(concurrent, settings: s, batch: batch, latency: &partial.latency)
            ops = r.ops; bytes = r.bytes; busyNs = r.wallNs
            workers = workers + r.cpu
            if partial.threads.isEmpty { partial.threads = Array(repeating: CallerTally(), count: r.callers.count) }
            for (t, c) in r.callers.enumerated() { partial.threads[t].add(c) }
            if instance.closesRepetitions {
                let t0 = monotonicNow()
                try instance.closeRepetition()
                busyNs += monotonicNow() - t0
            }
        } else {
            // The last batch is recorded once the next one starts, so that closing the repetition can join it.
            var last: (ns: UInt64, ops: Int)?
            while true {
                if interruptRequested.load(ordering: .relaxed) { throw BenchError.interrupted }
                if let target = s.ops, ops >= target { break }
                if s.ops == nil && monotonicNow() - start >= s.durationNs && ops > 0 { break }
                if instance.hasBackground { try runBackground() }
                let n = s.ops.map { min(batch, $0 - ops) } ?? batch
                let t0 = monotonicNow()
                for _ in 0..<n { bytes += try instance.op(thread: 0) }
                let t1 = monotonicNow()
                busyNs += t1 - t0
                ops += n
                if let l = last { partial.latency.recordLatency(l.ns / UInt64(l.ops), count: l.ops) }
                last = (t1 - t0, n)
                if s.trace != nil { windows.append((t0, t1, ops - 1)) }
            }
            if instance.closesRepetitions {
                let t0 = monotonicNow()
                try instance.closeRepetition()
                let t1 = monotonicNow()
                busyNs += t1 - t0
                if let l = last { last = (l.ns + t1 - t0, l.ops) }
                if let w = windows.last { windows[windows.count - 1] = (w.0, t1, w.2) }  // its RPCs belong to the last op
            }
            if let l = last { partial.latency.recordLatency(l.ns / UInt64(l.ops), count: l.ops) }
        }
        var inOp = RPCTally()
        inOp.add(stats.snapshot() - before)
        inOp.subtract(background)
        partial.inOp.add(inOp)
        partial.background.add(background)
        partial.copiedBytes += copies.value - copiesBefore - backgroundCopies
        partial.repetitions += 1
        partial.ops += ops
        partial.bytes += bytes
        partial.busyNs += busyNs
        partial.perRepetition.append(CallerTally(ops: ops, bytes: bytes, ns: busyNs))
        let seconds = Double(max(busyNs, 1)) / 1e9
        partial.opsPerS.append(Double(ops) / seconds)
        partial.mibPerS.append(Double(bytes) / seconds / 1_048_576)
        if let trace = s.trace { trace.write(label: s.label, repetition: s.firstRepetition + rep, entries: stats.stopTrace(), windows: windows) }
    }
}

extension RPCTally {
    mutating func add(_ other: RPCTally) {
        for (t, n) in other.byType { byType[t, default: 0] += n }
        bytes += other.bytes
    }
}

/// One repetition with `threads` callers: each runs its share of `ops`, or until the duration passes, reading the clock
/// once per `batch` ops (as one thread does).
private func runThreads(_ instance: any ConcurrentScenarioInstance, settings s: MeasureSettings, batch: Int,
                        latency: inout Histogram<UInt64>) throws -> (ops: Int, bytes: Int, wallNs: UInt64, cpu: CPUSeconds,
                                                                     callers: [CallerTally]) {
    struct Outcome { var ops = 0; var bytes = 0; var ns: UInt64 = 0; var latency = newLatencyHistogram(); var cpu = CPUSeconds.zero; var error: Error? }
    let threads = instance.threads
    let results = Locked([Outcome](repeating: Outcome(), count: threads))
    let done = DispatchSemaphore(value: 0)
    let start = monotonicNow()
    let duration = s.durationNs
    let target = s.ops
    for t in 0..<threads {
        let share = target.map { $0 / threads + (t < $0 % threads ? 1 : 0) }
        // Workers inherit the client pinning of the thread that starts them.
        let thread = Thread {
            var o = Outcome()
            let cpu0 = CPUClock.thread()
            do {
                var t0 = monotonicNow()
                while !interruptRequested.load(ordering: .relaxed) {
                    if let share, o.ops >= share { break }
                    if share == nil && t0 - start >= duration && o.ops > 0 { break }
                    let n = share.map { min(batch, $0 - o.ops) } ?? batch
                    for _ in 0..<n { o.bytes += try instance.op(thread: t) }
                    let t1 = monotonicNow()
                    o.latency.recordLatency((t1 - t0) / UInt64(n), count: n)
                    o.ops += n
                    t0 = t1
                }
            } catch {
                o.error = error
            }
            o.cpu = CPUClock.thread() - cpu0
            o.ns = monotonicNow() - start
            results.withLock { $0[t] = o }
            done.signal()
        }
        thread.start()
    }
    for _ in 0..<threads { done.wait() }
    let wall = monotonicNow() - start
    let outcomes = results.withLock { $0 }
    if let e = outcomes.compactMap(\.error).first { throw e }
    if interruptRequested.load(ordering: .relaxed) { throw BenchError.interrupted }
    for o in outcomes { latency.add(o.latency) }
    return (outcomes.reduce(0) { $0 + $1.ops }, outcomes.reduce(0) { $0 + $1.bytes }, wall,
            outcomes.reduce(CPUSeconds.zero) { $0 + $1.cpu }, outcomes.map { CallerTally(ops: $0.ops, bytes: $0.bytes, ns: $0.ns) })
}
