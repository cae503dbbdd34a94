import CFuse3
import Glibc
import Gofer
import Synchronization
import SystemPackage

/// A `Filesystem` mounted through the kernel's FUSE (libfuse3's low-level API): nodeids map to paths, file handles
/// to `OpenFile`s, directory handles to listings taken at opendir.
///
/// `@unchecked Sendable`: `session` is set once in init and only read after; the tables guard themselves.
public final class FUSEMount: @unchecked Sendable {
    /// The filesystem every FUSE operation goes to.
    public let filesystem: Filesystem
    /// Where it is mounted (absolute).
    public let mountpoint: String
    /// What the kernel may cache, from the filesystem's mode.
    public let caching: KernelCaching
    let nodes: NodeTable
    let files = HandleTable<OpenNode>()
    let directories = HandleTable<DirectorySnapshot>()
    /// Read and readdir reply buffers (the kernel asks for at most 1 MiB at once).
    let buffers = BufferPool(size: 1 << 20)
    /// Unlinks, rmdirs and renames since the last `reclaim()`.
    let removals = Atomic<Int>(0)
    /// The libfuse session (set once in init).
    private var session: OpaquePointer!

    /// Releases the fids (and the descriptors behind them) of dentries that removes and renames left stale, every
    /// `reclaimEvery` of them: no one else calls `Filesystem.reclaim()` in a mount, and a stale dentry may hold several
    /// descriptors (its fid's, an open handle's and a donated one) until then.
    func removedOrRenamed() {
        if removals.add(1, ordering: .relaxed).newValue % Self.reclaimEvery == 0 { filesystem.reclaim() }
    }

    /// How many removes and renames go between two `reclaim()`s.
    static let reclaimEvery = 64

    /// Mounts `filesystem` on `mountpoint` (an existing directory); serve it with `serve()`.
    public init(filesystem: Filesystem, mountpoint: String, caching: KernelCaching? = nil,
                fsname: String = "gofer") throws(GoferError) {
        guard let real = realpath(mountpoint, nil) else {
            throw GoferError(Errno(rawValue: errno), "mount point \(mountpoint): \(Errno(rawValue: errno))")
        }
        self.mountpoint = String(cString: real)
        free(real)
        self.filesystem = filesystem
        self.caching = caching ?? KernelCaching(options: filesystem.options)
        nodes = NodeTable(rootIno: try filesystem.lstat("/").ino)
        var ops = FUSEMount.operations()
        // Root may let every user in (the kernel checks permissions from the attributes either way).
        var options = "fsname=\(fsname),subtype=gofer,default_permissions"
        if getuid() == 0 { options += ",allow_other" }
        let args: [String] = ["gofer-mount", "-o", options]
        let argv = args.map { strdup($0) }
        defer { for a in argv { free(a) } }
        var cargv: [UnsafeMutablePointer<CChar>?] = argv + [nil]
        let userdata = Unmanaged.passUnretained(self).toOpaque()
        guard let se = cfuse_session_new(Int32(argv.count), &cargv, &ops, userdata) else {
            throw GoferError(.invalidArgument, "fuse_session_new refused the options \(options)")
        }
        guard fuse_session_mount(se, self.mountpoint) == 0 else {
            fuse_session_destroy(se)
            throw GoferError(.permissionDenied, "cannot mount on \(self.mountpoint) (is /dev/fuse there, and are you root or is fusermount3 installed?)")
        }
        session = se
    }

    /// Serves the kernel's requests on `threads` worker threads until the mount goes away (`unmount`,
    /// `fusermount3 -u`, umount), then closes every open file (dirty data written back). Returns 0 or a negative errno.
    public func serve(threads: Int = 10) -> Int32 {
        let result = FUSEWorkers.run(session, count: threads)
        closeAll()
        fuse_session_unmount(session)
        fuse_session_destroy(session)
        return result
    }

    /// Writes back and closes every file still open, and drops the directory snapshots.
    func closeAll() {
        for open in files.removeAll() {
            try? open.file.fsync()
            try? open.file.close()
        }
        _ = directories.removeAll()
    }

    /// Files the kernel holds open through this mount.
    public var openFileCount: Int { files.count }

    /// Asks the kernel to unmount `mountpoint`: umount2 as root (lazily when busy), else `fusermount3 -u -z`.
    /// `serve()` returns once the kernel lets go of the mount.
    @discardableResult
    public static func unmount(_ mountpoint: String) -> Bool {
        if getuid() == 0 {
            if umount2(mountpoint, 0) == 0 { return true }
            if errno == EBUSY { return umount2(mountpoint, Int32(MNT_DETACH)) == 0 }
            return false
        }
        var pid: pid_t = 0
        let args: [String] = ["fusermount3", "-u", "-z", mountpoint]
        let argv = args.map { strdup($0) }
        defer { for a in argv { free(a) } }
        var cargv: [UnsafeMutablePointer<CChar>?] = argv + [nil]
        fflush(nil)
        guard posix_spawnp(&pid, "fusermount3", nil, nil, &cargv, environ) == 0 else { return false }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status == 0
    }
}

/// An open file and the node it was opened on (fstat of a file with no name left asks it).
struct OpenNode: Sendable {
    var node: UInt64
    var file: OpenFile
}

/// A directory's entries as opendir found them ("." and ".." first), which readdir pages through.
struct DirectorySnapshot: Sendable {
    var entries: [(name: String, ino: UInt64, mode: UInt32)]
}
