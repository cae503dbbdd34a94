import BenchReport
import P9

extension RunOptions {
    /// The transport parameter when `--transport` was given; none: every client uses the socket.
    var transportKeys: [ParamKey] { values[.transport] != nil ? [.transport] : [] }
}

extension ParamSet {
    /// The channels a client of these params asks for with `transport=channel`: the default count, or one per caller
    /// thread when there are more (up to 8; callers that share a channel queue for it); else 0 (the socket).
    var channels: Int { text(.transport) == "channel" ? min(max(ClientOptions.defaultChannels, int(.threads)), 8) : 0 }
}
