import BenchReport
import HostSupport

/// The readable table printed while a run goes: each figure beside its limit measured in the same run.
struct ResultTable {
    let print: (String) -> Void
    let paramsWidth: Int
    var limits = Limits.none

    private var widths: [Int] { [16, max(6, paramsWidth), 7, 11, 9, 8, 9, 9, 18] }

    private func line(_ cells: [String]) -> String {
        zip(cells, widths).enumerated().map { i, cw in
            let (c, w) = cw
            let pad = String(repeating: " ", count: max(0, w - c.count))
            return i < 3 ? c + pad : pad + c
        }.joined(separator: " ")
    }

    /// The limits line, with the placement they (and the run) used.
    func printLimits() {
        func gib(_ v: Double?) -> String { v.map { Units.fixed($0, 1) + " GiB/s" } ?? "-" }
        func us(_ v: Double?) -> String { v.map { Units.fixed($0, 1) + "us" } ?? "-" }
        var cpus = ""
        if let p = limits.placement {
            cpus = " [client cpus \(Affinity.format(p.clientCPUs)), server cpus \(Affinity.format(p.serverCPUs)) (\(p.serverModel ?? "?"))]"
        }
        print("limits: socket rtt \(us(limits.socketRTTus)) (same cpu \(us(limits.socketRTTSameCPUus)), cross cpu "
              + "\(us(limits.socketRTTCrossCPUus))), socket stream 1M \(gib(limits.socketStreamGiBs)), memcpy 1M "
              + "\(gib(limits.memcpyGiBs)), pread 1M \(gib(limits.preadGiBs))\(cpus)")
    }

    func header() {
        print("vs limit: the op's limit time / p50, 1.0 = at the limit: rpcs/op x socket rtt (every RPC at the wire's round "
              + "trip) + payload at the socket stream rate for its message size (stream) + bytes the client copied at memcpy "
              + "over a buffer as large as the file (memcpy) + host-FD bytes at pread of the op's size (pread)")
        print(line(["scenario", "params", "status", "ops/s", "MiB/s", "rpcs/op", "p50", "p99", "vs limit"]))
    }

    /// The result's `vs_limit` and its basis ("0.83 rtt", "0.42 pread"), "-" when it has none.
    func versusLimit(_ r: ResultRecord) -> String {
        guard let v = r.vsLimit, let basis = r.vsLimitBasis else { return "-" }
        return Units.fixed(v, v < 0.1 ? 3 : 2) + " " + basis
    }

    func row(_ r: ResultRecord) {
        func num(_ path: String, _ digits: Int) -> String { r.metric(path).map { Units.fixed($0, digits) } ?? "-" }
        func ns(_ path: String) -> String { r.metric(path).map { Units.formatNanoseconds($0) } ?? "-" }
        print(line([r.scenario, r.params.description, r.status.rawValue, num("throughput.ops_per_s.median", 0),
                    num("throughput.mib_per_s.median", 1), num("rpcs_per_op", 2), ns("latency_ns.p50"), ns("latency_ns.p99"),
                    r.status == .ok ? versusLimit(r) : "-"]))
        if r.status != .ok, let e = r.error { print("    \(r.status.rawValue): \(e)") }
        for w in r.warnings { print("    warning: \(w)") }
    }
}
