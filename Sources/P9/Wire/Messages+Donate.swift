/// Tdonateroot (this project's extension, type 146): fid[4].
///
/// Asks for an O_PATH descriptor of the directory `fid` names (the client sends its attach fid), so that the
/// client can resolve paths beneath it itself with openat2(RESOLVE_BENEATH), gVisor directfs's model. No version
/// N enables it: a client sends it only on a connection that negotiated `9P2000.L.Google.N` with N >= 1, whose
/// server answers a type it does not know with Rlerror and keeps the connection (diod, at N = 0, never sees it).
/// Refusals: EROFS on a read-only export, EOPNOTSUPP where the connection carries no descriptors (TCP) or
/// donation is off, ENOTDIR for a fid that is not a directory, ENOSYS from a server that does not implement it.
public struct Tdonateroot: FIDMessage, Equatable, Sendable {
    public static let type = MessageType.tdonateroot
    public var fid: FID
    public init(fid: FID) { self.fid = fid }
}

/// Rdonateroot: qid[13] of the directory; the O_PATH descriptor rides on the same sendmsg as SCM_RIGHTS.
public struct Rdonateroot: QIDMessage, Equatable, Sendable {
    public static let type = MessageType.rdonateroot
    public var qid: QID
    public init(qid: QID) { self.qid = qid }
}
