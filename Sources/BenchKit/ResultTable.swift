import BenchReport
import HostSupport

/// The readable table printed while a run goes: each figure beside its limit measured in the same run.
struct ResultTable {
    let print: (String) -> Void
    let paramsWidth: Int
    var limits = Limits.none
    /// A server column when the run measures several servers.
    let serverWidth: Int?
    /// A "vs native" column when the run measures the native floor.
    let showsNative: Bool

    /// A table for a run of `servers`.
    init(print: @escaping (String) -> Void, paramsWidth: Int, servers: [ServerSpec] = [.builtin]) {
        self.print = print
        self.paramsWidth = paramsWidth
        serverWidth = servers.count > 1 ? max(6, servers.map { $0.description.count }.max() ?? 6) : nil
        showsNative = servers.contains(.native)
    }

    private var widths: [Int] {
        [16] + (serverWidth.map { [$0] } ?? []) + [max(6, paramsWidth), 7, 11, 9, 8, 9, 9, 18] + (showsNative ? [9] : [])
    }

    /// `cells` without the optional columns, which are put in when shown.
    private func line(_ cells: [String], server: String, native: String) -> String {
        var all = cells
        if serverWidth != nil { all.insert(server, at: 1) }
        if showsNative { all.append(native) }
        let left = serverWidth == nil ? 3 : 4
        return zip(all, widths).enumerated().map { i, cw in
            let (c, w) = cw
            let pad = String(repeating: " ", count: max(0, w - c.count))
            return i < left ? c + pad : pad + c
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
        if showsNative {
            print("vs native: the result's p50 over the p50 of the native floor of the same scenario and parameters "
                  + "(plain syscalls; 1.0x = no cost on top of the kernel)")
        }
        print(line(["scenario", "params", "status", "ops/s", "MiB/s", "rpcs/op", "p50", "p99", "vs limit"], server: "server",
                   native: "vs native"))
    }

    /// The result's `vs_limit` and its basis ("0.83 rtt", "0.42 pread"), "-" when it has none.
    func versusLimit(_ r: ResultRecord) -> String {
        guard let v = r.vsLimit, let basis = r.vsLimitBasis else { return "-" }
        return Units.fixed(v, v < 0.1 ? 3 : 2) + " " + basis
    }

    /// "    cpu per op: client 2.51 us, server 2.53 us" (user + system of each side over the measured ops), shown
    /// for results of a `--transport` run, where spinning moves cost between wall time and CPU time.
    func cpuPerOp(_ r: ResultRecord) -> String? {
        guard r.ops > 0, let cpu = r.cpu else { return nil }
        func side(_ u: CPUUsage?) -> String {
            guard let u, u.userS != nil || u.sysS != nil else { return "-" }
            return Units.fixed(((u.userS ?? 0) + (u.sysS ?? 0)) / Double(r.ops) * 1e6, 2) + " us"
        }
        return "    cpu per op: client \(side(cpu.client)), server \(side(cpu.server))"
    }

    func row(_ r: ResultRecord) {
        func num(_ path: String, _ digits: Int) -> String { r.metric(path).map { Units.fixed($0, digits) } ?? "-" }
        func ns(_ path: String) -> String { r.metric(path).map { Units.formatNanoseconds($0) } ?? "-" }
        print(line([r.scenario, r.params.description, r.status.rawValue, num("throughput.ops_per_s.median", 0),
                    num("throughput.mib_per_s.median", 1), num("rpcs_per_op", 2), ns("latency_ns.p50"), ns("latency_ns.p99"),
                    r.status == .ok ? versusLimit(r) : "-"],
                   server: r.server.label, native: r.vsNative.map { Units.fixed($0, $0 < 10 ? 2 : 1) + "x" } ?? "-"))
        if r.status != .ok, let e = r.error { print("    \(r.status.rawValue): \(e)") }
        if r.status == .ok, r.params[.transport] != nil, let line = cpuPerOp(r) { print(line) }
        for w in r.warnings { print("    warning: \(w)") }
    }
}
