import BenchReport

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
        [16] + (serverWidth.map { [$0] } ?? []) + [max(6, paramsWidth), 7, 11, 9, 8, 9, 9, 14] + (showsNative ? [9] : [])
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

    /// The limits line (and a note on the "vs limit" column).
    func printLimits() {
        func gib(_ v: Double?) -> String { v.map { Units.fixed($0, 1) + " GiB/s" } ?? "-" }
        let rtt = limits.socketRTTus.map { Units.fixed($0, 1) + "us" } ?? "-"
        var cpus = ""
        if let p = limits.placement {
            func list(_ a: [Int]) -> String { a.map(String.init).joined(separator: ",") }
            cpus = " [client cpus \(list(p.clientCPUs)), server cpus \(list(p.serverCPUs))]"
        }
        print("limits: socket rtt \(rtt), socket stream \(gib(limits.socketStreamGiBs)), memcpy 1M \(gib(limits.memcpyGiBs)), "
              + "pread \(gib(limits.preadGiBs))\(cpus)")
        print("vs limit: MiB/s as a fraction of pread (host FD), socket stream (9p path) or memcpy (9p served from the "
              + "client's cache, < 0.5 RPC/op); for scenarios that move no bytes, socket rtt / p50")
    }

    func header() {
        if showsNative {
            print("vs native: the result's p50 over the p50 of the native floor of the same scenario and parameters "
                  + "(plain syscalls; 1.0x = no cost on top of the kernel)")
        }
        print(line(["scenario", "params", "status", "ops/s", "MiB/s", "rpcs/op", "p50", "p99", "vs limit"], server: "server",
                   native: "vs native"))
    }

    /// The result's figure against its limit: "pread 0.42", "sock 0.05", "memcpy 0.10" or "rtt/p50 0.83" ("-" when unknown).
    func versusLimit(_ r: ResultRecord) -> String {
        if let mib = r.throughput?.mibPerS?.median {
            // 9P data that mostly came from the client's page cache (under half an RPC per op) never crossed the socket.
            let rpcs = r.rpcsPerOp ?? 0
            let (name, limit): (String, Double?) = r.params[.path]?.textValue != "9p" ? ("pread ", limits.preadGiBs)
                : (rpcs >= 0.5 ? ("sock ", limits.socketStreamGiBs) : ("memcpy ", limits.memcpyGiBs))
            guard let limit, limit > 0 else { return "-" }
            return name + Units.fixed(mib / (limit * 1024), 3)
        }
        guard let p50 = r.latency?.p50.map(Double.init), p50 > 0, let rtt = limits.socketRTTus else { return "-" }
        return "rtt/p50 " + Units.fixed(rtt * 1000 / p50, 2)
    }

    func row(_ r: ResultRecord) {
        func num(_ path: String, _ digits: Int) -> String { r.metric(path).map { Units.fixed($0, digits) } ?? "-" }
        func ns(_ path: String) -> String { r.metric(path).map { Units.formatNanoseconds($0) } ?? "-" }
        print(line([r.scenario, r.params.description, r.status.rawValue, num("throughput.ops_per_s.median", 0),
                    num("throughput.mib_per_s.median", 1), num("rpcs_per_op", 2), ns("latency_ns.p50"), ns("latency_ns.p99"),
                    r.status == .ok ? versusLimit(r) : "-"],
                   server: r.server.label, native: r.vsNative.map { Units.fixed($0, $0 < 10 ? 2 : 1) + "x" } ?? "-"))
        if r.status != .ok, let e = r.error { print("    \(r.status.rawValue): \(e)") }
        for w in r.warnings { print("    warning: \(w)") }
    }
}
