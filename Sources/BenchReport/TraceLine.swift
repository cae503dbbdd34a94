/// One line of a `--trace` file: an RPC with the op it belongs to.
public struct TraceLine: Codable, Sendable, Equatable {
    /// The scenario and its parameters ("stat mode=shared ...").
    public var run: String
    /// The repetition, from 0.
    public var repetition: Int
    /// The op's index in its repetition; nil for RPCs outside ops (background steps).
    public var op: Int?
    /// CLOCK_MONOTONIC ns when the request was sent.
    public var timeNs: Int
    /// The request's tag.
    public var tag: Int
    /// The message name ("Twalkgetattr").
    public var type: String
    /// The fid the request names.
    public var fid: Int
    /// Request bytes on the wire.
    public var bytesSent: Int
    /// Reply bytes on the wire.
    public var bytesReceived: Int

    /// A trace line with every field given.
    public init(run: String, repetition: Int, op: Int?, timeNs: Int, tag: Int, type: String, fid: Int, bytesSent: Int, bytesReceived: Int) {
        self.run = run
        self.repetition = repetition
        self.op = op
        self.timeNs = timeNs
        self.tag = tag
        self.type = type
        self.fid = fid
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
    }

    enum CodingKeys: String, CodingKey {
        case run, repetition, op, timeNs = "time_ns", tag, type, fid, bytesSent = "bytes_sent", bytesReceived = "bytes_received"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(run, forKey: .run)
        try c.encode(repetition, forKey: .repetition)
        try c.encodeOrNull(op, forKey: .op)
        try c.encode(timeNs, forKey: .timeNs)
        try c.encode(tag, forKey: .tag)
        try c.encode(type, forKey: .type)
        try c.encode(fid, forKey: .fid)
        try c.encode(bytesSent, forKey: .bytesSent)
        try c.encode(bytesReceived, forKey: .bytesReceived)
    }
}
