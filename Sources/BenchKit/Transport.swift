import BenchReport
import P9

extension RunOptions {
    /// The transport parameter when `--transport` was given; none: every client uses the socket.
    var transportKeys: [ParamKey] { values[.transport] != nil ? [.transport] : [] }
}

extension ParamSet {
    /// The channels a client of these params asks for: the default count for `transport=channel`, else 0 (the socket).
    var channels: Int { text(.transport) == "channel" ? ClientOptions.defaultChannels : 0 }
}
