import SystemPackage

/// What opening a file yields (Rlopen, Rlcreate, Rucreate): its QID, its iounit and, when the server
/// donated one, a host descriptor of the same open file.
///
/// Whoever holds an `OpenedFile` owns `hostFD`: it closes it exactly once or hands it on. A client gets
/// it from `ClientFile.open`/`create`; a `ServerFile` returns it to the `Server`, which sends it and closes it.
public struct OpenedFile: Sendable {
    /// The opened file's QID.
    public var qid: QID
    /// The server's iounit (0: no preference).
    public var ioUnit: UInt32
    /// A host descriptor the server donated with the reply (SCM_RIGHTS), owned by the holder.
    public var hostFD: FileDescriptor?

    /// Creates a result.
    public init(qid: QID, ioUnit: UInt32 = 0, hostFD: FileDescriptor? = nil) {
        self.qid = qid
        self.ioUnit = ioUnit
        self.hostFD = hostFD
    }

    /// The donated descriptor when `keep` is true; otherwise it is closed here and the result is nil.
    public func hostFD(keeping keep: Bool) -> FileDescriptor? {
        guard let fd = hostFD else { return nil }
        if keep { return fd }
        try? fd.close()
        return nil
    }
}
