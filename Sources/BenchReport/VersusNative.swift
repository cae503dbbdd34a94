/// `vs_native`: how many times the native floor's p50 a result's p50 is, when the run holds that floor.
///
/// A native result (`server.kind` "native") has only the parameters that apply to plain syscalls; it is the floor of
/// every other result of the same scenario whose parameters agree with all of its own (whatever their mode, resolver,
/// path, multi-block strategy and msize).
public enum VersusNative {
    /// The native result `r` is measured against in `results` (nil: none, or `r` is native itself).
    public static func floor(of r: ResultRecord, in results: [ResultRecord]) -> ResultRecord? {
        guard r.server.kind != "native" else { return nil }
        return results.first { n in
            n.server.kind == "native" && n.status == .ok && n.scenario == r.scenario
                && n.params.entries.allSatisfy { key, value in r.params[key] == value }
        }
    }

    /// `r`'s p50 over `native`'s (nil when either has none).
    public static func ratio(_ r: ResultRecord, over native: ResultRecord) -> Double? {
        guard r.status == .ok, let p50 = r.latency?.p50, let floor = native.latency?.p50, floor > 0 else { return nil }
        return Double(p50) / Double(floor)
    }

    /// Sets `vs_native` on every result that has a native floor in `results` (nil on the others).
    public static func apply(to results: inout [ResultRecord]) {
        let all = results
        for i in results.indices {
            results[i].vsNative = floor(of: all[i], in: all).flatMap { ratio(all[i], over: $0) }
        }
    }
}
