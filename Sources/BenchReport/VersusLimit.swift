/// `vs_limit`: an op's limit time over its p50, where the limit time adds up what the op did at the limits of the
/// paths it took (results/README.md "vs_limit"):
///
/// - every RPC at the socket round trip: `rpcs_per_op x socket_rtt_us` (over a delayed link, each round trip plus the
///   link's two one-way delays and their mean jitter);
/// - for ops that move payload over 9P, its wire bytes at the socket stream rate for the op's message size and the
///   bytes the client copied (its page cache, the buffered multi-block path) at the memcpy rate over a buffer as large
///   as the file;
/// - for ops on a host FD, their bytes at the pread rate for the op's transfer size and file.
///
/// 1.0: the op ran at those limits; 0.5: it took twice as long. An op that sends no RPC and moves no bytes has none.
public enum VersusLimit {
    /// One data limit a result may be judged against.
    public struct Need: Hashable, Sendable {
        /// The data path's limit.
        public var kind: DataLimit.Kind
        /// Bytes per transfer.
        public var unitBytes: Int
        /// Bytes of the file (nil: the socket stream, or a file of one unit read from its start, as open-read-close does).
        public var fileBytes: Int?
    }

    /// The I/O unit of a data op: `blocks` x `block_size` (`block_size` alone when the scenario has no `blocks`).
    public static func unit(_ params: ParamSet) -> Int? {
        guard let size = params[.blockSize]?.intValue else { return nil }
        return size * (params[.blocks]?.intValue ?? 1)
    }

    /// The bytes one Tread/Twrite carries on a connection of `msize` (nil: unknown, the whole unit).
    public static func message(unit: Int, msize: Int?) -> Int {
        guard let msize, msize > 24 else { return unit }
        return min(unit, msize - 24)
    }

    /// Whether a data op's bytes go through a host descriptor: `path=hostfd`, or a direct row (no `path`; the
    /// descriptor the client opened under the donated root).
    public static func onHostFD(_ params: ParamSet) -> Bool {
        params[.path]?.textValue == "hostfd" || (params[.path] == nil && params[.resolver]?.textValue == "direct")
    }

    /// The data limits a data op with `params` may be judged against on a connection of `msize`: pread for a host FD
    /// and for the native floor (`native`), the socket stream and memcpy for 9P.
    public static func needs(_ params: ParamSet, msize: Int?, native: Bool = false) -> [Need] {
        guard let unit = unit(params) else { return [] }
        let file = params[.fileSize]?.intValue
        if native || onHostFD(params) { return [Need(kind: .pread, unitBytes: unit, fileBytes: file)] }
        return [Need(kind: .socketStream, unitBytes: message(unit: unit, msize: msize), fileBytes: nil),
                Need(kind: .memcpy, unitBytes: unit, fileBytes: file)]
    }

    /// `vs_limit` and its basis ("rtt", "rtt+stream", "memcpy", "pread", ...) for `r` against `limits`; nil when the
    /// result is not ok, has no p50, does nothing a limit describes, or a limit it needs was not measured.
    public static func compute(_ r: ResultRecord, _ limits: Limits) -> (value: Double, basis: String)? {
        guard r.status == .ok, r.ops > 0, let p50 = r.latency?.p50, p50 > 0 else { return nil }
        var limitNs = 0.0
        var basis: [String] = []
        func add(_ name: String, bytes: Double, gibS: Double?) -> Bool {
            guard let gibS, gibS > 0 else { return false }
            limitNs += bytes / (gibS * 1_073_741_824) * 1e9
            basis.append(name)
            return true
        }
        let rpcs = r.rpcsPerOp ?? 0
        if rpcs > 0 {
            guard let rtt = limits.socketRTTus, rtt > 0 else { return nil }
            let link = Double(r.params[.linkDelay]?.intValue ?? 0) + Double(r.params[.linkJitter]?.intValue ?? 0) / 2
            limitNs += rpcs * (rtt + 2 * link) * 1000
            basis.append("rtt")
        }
        if r.throughput?.mibPerS != nil, let unit = unit(r.params) {
            let file = r.params[.fileSize]?.intValue
            if onHostFD(r.params) || r.server.kind == "native" {
                let bytes = Double(r.bytes) / Double(r.ops)
                if bytes > 0, !add("pread", bytes: bytes, gibS: limits.data(.pread, unit: unit, fileBytes: file)) { return nil }
            } else {
                let wire = r.wireBytesPerOp ?? 0, copied = r.bytesCopiedPerOp ?? 0
                let message = message(unit: unit, msize: r.server.msize)
                if rpcs > 0, wire > 0, !add("stream", bytes: wire, gibS: limits.data(.socketStream, unit: message, fileBytes: nil)) {
                    return nil
                }
                if copied > 0, !add("memcpy", bytes: copied, gibS: limits.data(.memcpy, unit: unit, fileBytes: file)) { return nil }
            }
        }
        guard limitNs > 0 else { return nil }
        return (limitNs / Double(p50), basis.joined(separator: "+"))
    }
}
