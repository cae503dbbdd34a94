import BenchReport

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
        rpcsByType = [:]
        for (type, count) in m.inOp.byType where count != 0 { rpcsByType[type.description] = Double(count) / perOp }
        wireBytesPerOp = Double(m.inOp.bytes) / perOp
        bytesCopiedPerOp = Double(m.copiedBytes) / perOp
        throughput = Throughput(opsPerS: Distribution(samples: m.opsPerS), mibPerS: movesBytes ? Distribution(samples: m.mibPerS) : nil)
        let h = m.latency
        func p(_ q: Double) -> Int? { h.totalCount > 0 ? Int(h.valueAtPercentile(q)) : nil }
        latency = Latency(p50: p(50), p90: p(90), p99: p(99), p999: p(99.9), max: h.totalCount > 0 ? Int(h.maxRecorded) : nil,
                          batch: m.batch)
        cpu = CPUTimes(userS: m.cpuUser, sysS: m.cpuSys)
        warnings = Statistics.repetitionWarnings(opsPerS: m.opsPerS)
    }
}
