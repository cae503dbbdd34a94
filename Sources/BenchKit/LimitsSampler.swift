import BenchReport
import HostSupport

/// The limits of a run measured across its rounds, so that the yardstick sees the machine over the whole run as the
/// results do: each round takes its share of every data limit's passes (the run's figure is the best pass), and the
/// round trips are sampled before every scenario step of every round against echo peers kept for the run (the run's
/// figure is the median over all of them: the cross-CPU round trip moves from one second to the next on a VM). One
/// round: 5 interleaved round-trip passes of 1,000 and the best of 5 (3 for the stream) passes, before the scenarios.
struct LimitsSampler {
    /// What is measured.
    let plan: LimitsPlan
    /// Rounds the passes are spread over.
    let rounds: Int
    /// The run's placement, then one CPU, then two.
    private let probes: [(client: [Int]?, peer: [Int]?)]
    /// Round-trip times per probe (ns), over the rounds so far; nil once a probe's peer failed.
    private var trips: [[UInt64]?]
    /// The CPUs the run placement's echo peer ran on (the first round that reached it).
    private var peerCPUs: [Int]?
    /// With several rounds: the echo peers of the run (nil: not started yet), and the round trips per probe per step.
    private var runPeers: [EchoPeer?]?
    private var tripsPerStep = 0
    /// The data limits, in report order.
    private let needs: [VersusLimit.Need]
    /// The best pass so far per data limit, and of the three 1 MiB references.
    private var best: [VersusLimit.Need: Double] = [:]
    private var stream: Double?
    private var memcpy: Double?
    private var pread: Double?

    /// Passes of a memcpy or pread limit over the run.
    private var ratePasses: Int { max(5, rounds) }
    /// Measured passes of a stream limit over the run.
    private var streamPasses: Int { max(3, rounds) }

    /// A sampler of `plan`'s limits over `rounds` rounds.
    init(_ plan: LimitsPlan, rounds: Int) {
        self.plan = plan
        self.rounds = max(1, rounds)
        var probes: [(client: [Int]?, peer: [Int]?)] = [(nil, plan.serverCPUs)]
        if let a = plan.clientCPUs?.first ?? plan.allowed.first {
            probes.append(([a], [a]))
            if let b = plan.serverCPUs?.first(where: { $0 != a }) ?? plan.allowed.first(where: { $0 != a }) {
                probes.append(([a], [b]))
            }
        }
        self.probes = probes
        trips = probes.map { _ in [] }
        func order(_ n: VersusLimit.Need) -> (String, Int, Int) { (n.kind.rawValue, n.unitBytes, n.fileBytes ?? 0) }
        needs = Set(plan.needs).sorted(by: { order($0) < order($1) })
    }

    /// Measures round `round`'s share on the calling thread, pinned as the run's client threads are, against echo and
    /// sink peers made like the run's server (a process or a thread, pinned like it); the same-CPU and cross-CPU round
    /// trips are measured whatever the run's placement (here with one round, at every step with more).
    mutating func sample(round: Int) {
        let model = plan.model, memNode = plan.memNode
        if rounds == 1 { keepTrips(Limits.roundTrips(model, probes, passes: 5)) }
        func better(_ current: Double?, _ new: Double?) -> Double? {
            guard let new else { return current }
            return max(current ?? new, new)
        }
        let streamN = Statistics.roundShare(streamPasses, round: round, rounds: rounds)
        let rateN = Statistics.roundShare(ratePasses, round: round, rounds: rounds)
        if streamN > 0 {
            stream = better(stream, Limits.socketStream(model, peerCPUs: plan.serverCPUs, message: 1 << 20, memNode: memNode, passes: streamN))
        }
        if rateN > 0 {
            memcpy = better(memcpy, Limits.memcpyRate(unit: 1 << 20, span: 1 << 20, memNode: memNode, passes: rateN))
            pread = better(pread, plan.referenceFile.flatMap {
                Limits.preadRate(path: $0, unit: 1 << 20, fromStart: false, memNode: memNode, passes: rateN)
            })
        }
        for need in needs {
            let rate: Double?
            switch need.kind {
            case .socketStream:
                guard streamN > 0 else { continue }
                rate = Limits.socketStream(model, peerCPUs: plan.serverCPUs, message: need.unitBytes, memNode: memNode, passes: streamN)
            case .memcpy:
                guard rateN > 0 else { continue }
                rate = Limits.memcpyRate(unit: need.unitBytes, span: need.fileBytes ?? need.unitBytes, memNode: memNode, passes: rateN)
            case .pread:
                guard rateN > 0 else { continue }
                rate = plan.preadFile(need.fileBytes, need.unitBytes).flatMap {
                    Limits.preadRate(path: $0, unit: need.unitBytes, fromStart: need.fileBytes == nil, memNode: memNode, passes: rateN)
                }
            }
            best[need] = better(best[need], rate)
        }
    }

    /// With several rounds: round trips before one scenario step (of `steps` a round), so that the run's 5,000 or more
    /// per probe are spread over the whole run; the peers are started by the first call and live until `close()`.
    mutating func sampleTrips(steps: Int) {
        guard rounds > 1 else { return }
        let first = runPeers == nil
        if first {
            runPeers = probes.map { EchoPeer.echo(model: plan.model, cpus: $0.peer) }
            tripsPerStep = max(100, 5000 / max(1, rounds * steps))
        }
        keepTrips(Limits.roundTrips(runPeers ?? [], probes, passes: 1, trips: tripsPerStep, warmup: first ? 200 : 0))
    }

    /// Stops the run's echo peers.
    mutating func close() {
        for p in (runPeers ?? []).reversed() { p?.stop() }
        runPeers = nil
    }

    /// Adds round-trip times per probe; a probe whose peer failed is nil for the run.
    private mutating func keepTrips(_ got: [(ns: [UInt64], peer: [Int])?]) {
        // The run's placement, one CPU, two: interleaved, so that the machine's moods fall on all three alike.
        for i in probes.indices {
            guard let g = got[i] else { trips[i] = nil; continue }
            trips[i]? += g.ns
            if i == 0 && peerCPUs == nil { peerCPUs = g.peer }
        }
    }

    /// The limits over the rounds sampled so far.
    func limits() -> Limits {
        var l = Limits()
        let us = trips.map { $0.flatMap(Limits.medianMicroseconds) }
        l.socketRTTus = us[0]
        if us.count > 1 { l.socketRTTSameCPUus = us[1] }
        if us.count > 2 { l.socketRTTCrossCPUus = us[2] }
        l.socketStreamGiBs = stream
        l.memcpyGiBs = memcpy
        l.preadGiBs = pread
        l.data = needs.map { DataLimit(kind: $0.kind, unitBytes: $0.unitBytes, fileBytes: $0.fileBytes, gibS: best[$0]) }
        l.placement = LimitsPlacement(nodes: plan.nodes, clientCPUs: Affinity.current(), serverCPUs: us[0] != nil ? peerCPUs ?? [] : [],
                                      serverModel: plan.model.rawValue)
        return l
    }
}
