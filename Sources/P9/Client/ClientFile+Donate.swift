import SystemPackage

extension ClientFile {
    /// Tdonateroot: an O_PATH descriptor of the directory this fid names (the caller owns it), nil when none came.
    ///
    /// Sent only when the connection negotiated N >= 1 (a gVisor-style server answers a type it does not know with
    /// Rlerror); on plain 9P2000.L it throws `.unsupported` without sending, since diod closes the connection.
    public func donateRoot() throws(P9Error) -> (qid: QID, hostFD: FileDescriptor?) {
        try checkLive()
        guard client.version >= 1 else { throw .unsupported(.tdonateroot) }
        let (r, fd) = try client.callWithFD(Tdonateroot(fid: fid), fid: fid, reply: Rdonateroot.self)
        return (r.qid, fd)
    }
}
