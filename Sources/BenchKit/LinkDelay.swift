#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import LinkRelay
import P9

extension RunOptions {
    /// The link parameters given on the command line; none: client and server talk directly.
    var linkKeys: [ParamKey] { [ParamKey.linkDelay, .linkJitter].filter { values[$0] != nil } }
    /// `spin_us` and `server_spin_us` when `--spin` and `--server-spin` were given: every result of the run carries them.
    var spinKeys: [ParamKey] { [ParamKey.spin, .serverSpin].filter { values[$0] != nil } }
    /// The spin the client (and, without `--server-spin`, the server the bench starts) uses before a blocking read
    /// (nil: none).
    public var spin: Duration? { microseconds(.spin) }
    /// The spin of the server the bench starts: `--server-spin` when given, else `--spin` (nil: none).
    public var serverSpin: Duration? { values[.serverSpin] != nil ? microseconds(.serverSpin) : spin }

    /// The one duration `key` holds, or nil when absent or 0.
    private func microseconds(_ key: ParamKey) -> Duration? {
        guard let us = values[key]?.first?.intValue, us > 0 else { return nil }
        return .microseconds(us)
    }
    /// `clients` when given on the command line; none: the bench is the one client.
    var clientKeys: [ParamKey] { values[.clients] != nil ? [.clients] : [] }
}

extension LinkDelay {
    /// The link a result's params ask for (`link_delay_us`, `link_jitter_us`); nil when they name none.
    init?(_ params: ParamSet) {
        guard let delay = params[.linkDelay]?.intValue else { return nil }
        self.init(delayNs: UInt64(delay) * 1000, jitterNs: UInt64(params[.linkJitter]?.intValue ?? 0) * 1000)
    }
}

/// The run's connections to the server: one Client per msize and link, each link a `LinkRelay` of its own.
final class Connections {
    private struct Key: Hashable {
        let msize: Int
        let link: LinkDelay?
        let channels: Int
    }

    private var clients: [Key: Client] = [:]
    private var relays: [LinkRelay] = []
    private let seed: UInt64

    /// Connections whose relays draw jitter from `seed`.
    init(seed: UInt64) { self.seed = seed }

    /// The client for `msize` over the link and transport `params` name (none: straight to the server over the
    /// socket), connecting on first use.
    func client(msize: Int, params: ParamSet, host: ServerHost, options: ClientOptions) throws -> Client {
        var o = options
        o.channels = params.channels
        return try client(msize: msize, link: LinkDelay(params), host: host, options: o)
    }

    /// The client for `msize` over `link` (nil: straight to the server), connecting on first use.
    func client(msize: Int, link: LinkDelay?, host: ServerHost, options: ClientOptions) throws -> Client {
        let key = Key(msize: msize, link: link, channels: options.channels)
        if let c = clients[key] { return c }
        var transport: StreamTransport = try host.connect()
        if let link {
            let (relay, client) = try LinkRelay.inFront(of: transport, delay: link, seed: seed &+ UInt64(relays.count))
            relays.append(relay)
            transport = client
        }
        let c = try Client(transport: transport, options: options)
        clients[key] = c
        return c
    }

    /// Closes every client, then every relay; returns the fids the clients still held (0 when every scenario
    /// released what it took, after a failure too).
    @discardableResult
    func close() -> Int {
        let fids = clients.values.reduce(0) { $0 + $1.fidsInUse }
        for c in clients.values { c.close() }
        clients.removeAll()
        for r in relays { r.close() }
        relays.removeAll()
        return fids
    }
}

/// The relay's own cost: the median null RPC (Tgetattr on the root) through a relay at delay 0 minus the median
/// without one, in µs, both measured here in alternating batches so both see the same machine; nil when it cannot be
/// measured (the error is not the run's: the scenarios report their own).
func measureRelayCost(_ host: ServerHost, aname: String, options: ClientOptions, seed: UInt64) -> Double? {
    let connections = Connections(seed: seed)
    defer { connections.close() }
    do {
        let direct = try connections.client(msize: options.msize, link: nil, host: host, options: options)
        let relayed = try connections.client(msize: options.msize, link: .zero, host: host, options: options)
        let roots = try [direct, relayed].map { try $0.attach(aname: aname, uname: options.uname, nUname: options.nUname) }
        defer { for r in roots { try? r.clunk() } }
        var samples: [[Double]] = [[], []]
        for batch in 0..<12 {
            for (i, root) in roots.enumerated() {
                for _ in 0..<100 {
                    let start = monotonicNow()
                    _ = try root.getAttr(.all)
                    if batch > 0 { samples[i].append(Double(monotonicNow() - start)) }  // batch 0 warms up
                }
            }
        }
        guard let relayedMedian = Statistics.median(samples[1]), let directMedian = Statistics.median(samples[0]) else { return nil }
        return (relayedMedian - directMedian) / 1000
    } catch {
        return nil
    }
}

/// The table line that reports the relay's cost (on `server`, when the run measures several).
func relayCostLine(_ cost: Double?, on server: String? = nil) -> String {
    let head = "link relay" + (server.map { " (\($0))" } ?? "") + ": "
    guard let cost else { return head + "its cost at delay 0 could not be measured" }
    return head + "+\(Units.fixed(cost, 1)) us per null RPC at delay 0 (server.relay_cost_us)"
}
