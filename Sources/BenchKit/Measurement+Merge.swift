import HostSupport

extension Measurement {
    /// Adds `other`, a later share of the same combination's repetitions (another round): samples, tallies and times
    /// add up, callers add up by index, the batch is the larger one.
    mutating func merge(_ other: Measurement) {
        repetitions += other.repetitions
        ops += other.ops
        bytes += other.bytes
        sampleRounds += other.sampleRounds
        opsPerS += other.opsPerS
        mibPerS += other.mibPerS
        inOp.add(other.inOp)
        background.add(other.background)
        backgroundNs += other.backgroundNs
        copiedBytes += other.copiedBytes
        latency.add(other.latency)
        batch = max(batch, other.batch)
        cpu = cpu + other.cpu
        clientCPU = clientCPU + other.clientCPU
        switch (serverCPU, other.serverCPU) {
        case let (a?, b?): serverCPU = a + b
        case let (nil, b): serverCPU = b
        case (_?, nil): break
        }
        Self.add(other.threads, to: &threads)
        Self.add(other.clients, to: &clients)
        busyNs += other.busyNs
        perRepetition += other.perRepetition
    }

    /// `callers[i] += more[i]`, growing `callers` when `more` has more.
    private static func add(_ more: [CallerTally], to callers: inout [CallerTally]) {
        if callers.count < more.count { callers += Array(repeating: CallerTally(), count: more.count - callers.count) }
        for (i, c) in more.enumerated() { callers[i].add(c) }
    }
}
