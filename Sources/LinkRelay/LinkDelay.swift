/// The one-way delay a `LinkRelay` holds every frame for: `delayNs`, plus a uniform extra in 0...`jitterNs`.
///
/// The delay is a floor: a frame never leaves before it, and jitter never reorders (see `ReleaseSchedule`).
public struct LinkDelay: Sendable, Hashable, CustomStringConvertible {
    /// The least time a frame is held, in nanoseconds.
    public var delayNs: UInt64
    /// The most extra time a frame is held beyond `delayNs`, drawn uniformly per frame, in nanoseconds.
    public var jitterNs: UInt64

    /// A delay of `delayNs` with up to `jitterNs` more.
    public init(delayNs: UInt64, jitterNs: UInt64 = 0) {
        self.delayNs = delayNs
        self.jitterNs = jitterNs
    }

    /// No delay: the relay forwards each frame as soon as it has read it whole.
    public static let zero = LinkDelay(delayNs: 0)

    public var description: String {
        jitterNs == 0 ? "\(delayNs / 1000)us" : "\(delayNs / 1000)us+0..\(jitterNs / 1000)us"
    }
}

/// When each frame of one direction may leave: arrival + delay + jitter, but never before the frame ahead of it.
///
/// release(k) = max(release(k-1), arrival(k) + delay + jitter(k)); jitter comes from a seeded SplitMix64, so a run
/// is repeatable.
struct ReleaseSchedule {
    let delay: LinkDelay
    private var last: UInt64 = 0
    private var state: UInt64

    init(_ delay: LinkDelay, seed: UInt64) {
        self.delay = delay
        state = seed
    }

    /// The release time of a frame that arrived (was read whole) at `arrival` (monotonic nanoseconds).
    mutating func release(arrival: UInt64) -> UInt64 {
        var t = arrival &+ delay.delayNs
        if delay.jitterNs > 0 { t &+= next() % (delay.jitterNs &+ 1) }
        last = max(last, t)
        return last
    }

    /// SplitMix64.
    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
