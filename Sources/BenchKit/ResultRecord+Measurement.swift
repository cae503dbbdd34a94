import BenchReport
import HostSupport

extension ResultRecord {
    /// Fills the measured fields from `m`: every one when an op ran, only the repetitions otherwise.
    mutating func record(_ m: Measurement, movesBytes: Bool) {
        repetitions = m.repetitions
        guard m.ops > 0 else { return }
        let perOp = Double(m.ops)
        ops = m.ops
        bytes = m.bytes
        rpcsPerOp = Double(m.inOp.total) / perOp
        rpcsBackground = Double(m.background.total) / perOp
        backgroundNsPerOp = Double(m.backgroundNs) / perOp
        rpcsByType = [:]
        for (type, count) in m.inOp.byType where count != 0 { rpcsByType[type.description] = Double(count) / perOp }
        wireBytesPerOp = Double(m.inOp.bytes) / perOp
        bytesCopiedPerOp = Double(m.copiedBytes) / perOp
        throughput = Throughput(opsPerS: Distribution(samples: m.opsPerS), mibPerS: movesBytes ? Distribution(samples: m.mibPerS) : nil)
        let h = m.latency
        func p(_ q: Double) -> Int? { h.totalCount > 0 ? Int(h.valueAtPercentile(q)) : nil }
        latency = Latency(p50: p(50), p90: p(90), p99: p(99), p999: p(99.9), max: h.totalCount > 0 ? Int(h.maxRecorded) : nil,
                          batch: m.batch)
        cpu = CPUTimes(userS: m.cpu.user, sysS: m.cpu.sys, client: CPUUsage(userS: m.clientCPU.user, sysS: m.clientCPU.sys),
                       server: m.serverCPU.map { CPUUsage(userS: $0.user, sysS: $0.sys) })
        warnings = Statistics.repetitionWarnings(opsPerS: m.opsPerS)
        perThread = CallerTally.spread(m.threads, movesBytes: movesBytes)
        perClient = CallerTally.spread(m.clients, movesBytes: movesBytes)
    }
}

extension ResultRecord {
    /// Sets `vs_limit` and its basis against `limits` (nil when it has none).
    mutating func judge(against limits: Limits) {
        let v = VersusLimit.compute(self, limits)
        vsLimit = v?.value
        vsLimitBasis = v?.basis
    }
}
