/// Tlock: fid[4] type[1] flags[4] start[8] length[8] proc_id[4] client_id[s].
public struct Tlock: Message, Equatable, Sendable {
    public static let type = MessageType.tlock
    public var fid: FID
    public var type: LockType
    public var flags: LockFlags
    public var start: UInt64
    public var length: UInt64
    public var procID: UInt32
    public var clientID: String
    public init(fid: FID, type: LockType, flags: LockFlags = [], start: UInt64, length: UInt64, procID: UInt32, clientID: String) {
        self.fid = fid; self.type = type; self.flags = flags; self.start = start; self.length = length
        self.procID = procID; self.clientID = clientID
    }
    public func encode(_ e: inout WireEncoder) {
        e.fid(fid); e.u8(type.rawValue); e.u32(flags.rawValue); e.u64(start); e.u64(length); e.u32(procID); e.string(clientID)
    }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); type = try LockType(from: &d); flags = LockFlags(rawValue: try d.u32("flags"))
        start = try d.u64("start"); length = try d.u64("length"); procID = try d.u32("proc_id"); clientID = try d.string("client_id")
    }
}

/// Rlock: status[1].
public struct Rlock: Message, Equatable, Sendable {
    public static let type = MessageType.rlock
    public var status: LockStatus
    public init(status: LockStatus) { self.status = status }
    public func encode(_ e: inout WireEncoder) { e.u8(status.rawValue) }
    public init(from d: inout WireDecoder) throws(WireError) {
        let raw = try d.u8("status")
        guard let s = LockStatus(rawValue: raw) else { throw .invalid("lock status \(raw)") }
        status = s
    }
}

/// Tgetlock: fid[4] type[1] start[8] length[8] proc_id[4] client_id[s].
public struct Tgetlock: Message, Equatable, Sendable {
    public static let type = MessageType.tgetlock
    public var fid: FID
    public var type: LockType
    public var start: UInt64
    public var length: UInt64
    public var procID: UInt32
    public var clientID: String
    public init(fid: FID, type: LockType, start: UInt64, length: UInt64, procID: UInt32, clientID: String) {
        self.fid = fid; self.type = type; self.start = start; self.length = length; self.procID = procID; self.clientID = clientID
    }
    public func encode(_ e: inout WireEncoder) {
        e.fid(fid); e.u8(type.rawValue); e.u64(start); e.u64(length); e.u32(procID); e.string(clientID)
    }
    public init(from d: inout WireDecoder) throws(WireError) {
        fid = try d.fid("fid"); type = try LockType(from: &d); start = try d.u64("start"); length = try d.u64("length")
        procID = try d.u32("proc_id"); clientID = try d.string("client_id")
    }
}

/// Rgetlock: type[1] start[8] length[8] proc_id[4] client_id[s]; type unlock means no conflict.
public struct Rgetlock: Message, Equatable, Sendable {
    public static let type = MessageType.rgetlock
    public var type: LockType
    public var start: UInt64
    public var length: UInt64
    public var procID: UInt32
    public var clientID: String
    public init(type: LockType, start: UInt64, length: UInt64, procID: UInt32, clientID: String) {
        self.type = type; self.start = start; self.length = length; self.procID = procID; self.clientID = clientID
    }
    public func encode(_ e: inout WireEncoder) { e.u8(type.rawValue); e.u64(start); e.u64(length); e.u32(procID); e.string(clientID) }
    public init(from d: inout WireDecoder) throws(WireError) {
        type = try LockType(from: &d); start = try d.u64("start"); length = try d.u64("length")
        procID = try d.u32("proc_id"); clientID = try d.string("client_id")
    }
}
