// libFuzzer entry point for the 9P server: each input is one connection's byte stream (frames, Tversion
// first in the seeds), fed to a P9.Server over a LocalGofer whose export is recreated for every input
// (over the socket, or frame by frame through a shared-memory channel: Fuzz/FuzzChannel.swift).
// Built by `scripts/fuzz server` against P9, LocalGofer, Syscall and SystemPackage compiled with
// -sanitize=fuzzer,address. Findings besides crashes (each one a fatalError naming it):
//   - an escape: a QID, donated descriptor or filesystem event that reaches outside the export,
//     or a device node inside it;
//   - a leak: a descriptor or thread of the server left once the connection and server are gone;
//   - a hang: the server neither reading, answering nor closing for 1 s (libFuzzer's -timeout=1 backs it).
import Glibc
import LocalGofer
import P9
import SystemPackage

/// Scratch layout, made once per process: BASE/export (served, recreated per input) and BASE/outside.
/// scripts/fuzz points FUZZ_SCRATCH at a private tmpfs so nothing the fuzzer writes reaches the disk.
private let base: String = {
    let dir = getenv("FUZZ_SCRATCH").map { String(cString: $0) } ?? "/tmp"
    return dir + "/gofer-fuzz-\(getpid())"
}()
private let exportPath = base + "/export"
private let outsidePath = base + "/outside"
/// The server's largest msize: small frames keep each input cheap.
private let serverMsize = 65536

/// What the harness keeps across inputs; the fuzzer calls the entry point from one thread only.
private struct Session {
    var forbiddenInodes: Set<UInt64> = []
    var outsideStat = stat()
    var secretStat = stat()
    var inotify: Int32 = -1
    var outsideWatch: Int32 = -1
    var workers = 1
}

nonisolated(unsafe) private var session: Session?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzServerInitialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    signal(SIGPIPE, SIG_IGN)
    signal(SIGXFSZ, SIG_IGN)
    // No input may grow a file past 64 MiB (writes, truncates and allocations get EFBIG instead).
    var limit = rlimit(rlim_cur: 64 << 20, rlim_max: 64 << 20)
    _ = setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
    removeTree(base)
    precondition(mkdir(base, 0o755) == 0 && mkdir(outsidePath, 0o755) == 0, "cannot make \(base): \(errno)")
    writeFile(outsidePath + "/secret", Array("outside the export".utf8))
    var s = Session()
    if let w = getenv("FUZZ_WORKERS").flatMap({ Int(String(cString: $0)) }), w > 0 { s.workers = w }
    var st = stat()
    for path in [base, outsidePath, outsidePath + "/secret"] where lstat(path, &st) == 0 {
        s.forbiddenInodes.insert(UInt64(st.st_ino))
    }
    _ = lstat(outsidePath, &s.outsideStat)
    _ = lstat(outsidePath + "/secret", &s.secretStat)
    s.inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
    s.outsideWatch = inotify_add_watch(s.inotify, outsidePath, 0xFFF)  // IN_ALL_EVENTS
    _ = inotify_add_watch(s.inotify, base, UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_OPEN))
    session = s
    atexit { removeTree(base) }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard var s = session else { fatalError("LLVMFuzzerInitialize did not run") }
    makeExport()
    drainEvents(&s)
    let fdsBefore = entries("/proc/self/fd")
    let threadsBefore = entries("/proc/self/task")

    var sv: [Int32] = [-1, -1]
    precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &sv) == 0)
    weak var weakServer: Server?
    let outcome: PumpOutcome
    do {
        let gofer = try! LocalGofer(root: exportPath)
        let server = Server(fileServer: gofer, options: ServerOptions(maxMsize: serverMsize, workers: s.workers,
                                                                      channels: channelMode ? 1 : 0))
        weakServer = server
        server.serve(fd: sv[1])
        let input = UnsafeRawBufferPointer(start: data, count: size)
        if channelMode {
            let (replies, fds) = pumpChannel(sv[0], input, msize: serverMsize)
            outcome = PumpOutcome(replies: replies, fds: fds)
        } else {
            outcome = pump(sv[0], input)
        }
        server.stop()
    }
    close(sv[0])
    // The server goes away once its reader and every queued request are done; its threads end soon after.
    let deadline = now() + 800_000_000
    guard waitFor(until: deadline, { weakServer == nil }) else { fatalError("hang: the server was still alive 0.8 s after its peer closed") }

    for fd in outcome.fds {
        let target = linkTarget("/proc/self/fd/\(fd)")
        guard target.hasPrefix(exportPath + "/") else { fatalError("escape: donated descriptor names \(target)") }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { fatalError("donated a non-regular file: \(target)") }
        close(fd)
    }
    checkReplies(outcome.replies, forbidden: s.forbiddenInodes)
    guard waitFor(until: deadline, { entries("/proc/self/fd") == fdsBefore }) else {
        fatalError("leak: \(entries("/proc/self/fd") - fdsBefore) descriptors left after the server went away")
    }
    // Fewer is no leak: a server thread of an earlier input may still have been exiting (it lets go of the server
    // just before the kernel removes it) when this input began.
    guard waitFor(until: deadline, { entries("/proc/self/task") <= threadsBefore }) else {
        fatalError("leak: \(entries("/proc/self/task") - threadsBefore) threads left after the server went away")
    }
    checkOutside(&s)
    checkNoDevices(exportPath)
    session = s
    return 0
}

// MARK: the connection

private struct PumpOutcome {
    var replies: [UInt8] = []
    var fds: [Int32] = []
}

/// Writes `input` to the server while reading its replies. The server drops requests still queued when
/// its peer closes, so the write side is half-closed only once every whole frame has its reply (or the
/// replies stall for 20 ms: a flushed request gets none); then replies are read until EOF.
private func pump(_ fd: Int32, _ input: UnsafeRawBufferPointer) -> PumpOutcome {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    let expected = frameCount(input)
    var out = PumpOutcome()
    var sent = 0
    var writing = !input.isEmpty
    var halfClosed = false
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    var control = [UInt8](repeating: 0, count: 256)
    var idle: Int32 = 0  // ms waited since the last progress
    while true {
        if !writing && !halfClosed && (idle >= 20 || frameCount(out.replies) >= expected) {
            _ = shutdown(fd, Int32(SHUT_WR))
            halfClosed = true
        }
        var p = pollfd(fd: fd, events: Int16(POLLIN) | (writing ? Int16(POLLOUT) : 0), revents: 0)
        let wait: Int32 = writing || halfClosed ? 1000 : 5
        let ready = poll(&p, 1, wait)
        if ready == 0 {
            idle += wait
            if idle >= 1000 { fatalError("hang: the server neither read, answered nor closed for 1 s") }
            continue
        }
        if ready < 0 { continue }
        idle = 0
        if writing && p.revents & Int16(POLLOUT) != 0 {
            let n = send(fd, input.baseAddress! + sent, input.count - sent, Int32(MSG_NOSIGNAL))
            if n > 0 { sent += n }
            if n < 0 && errno != EAGAIN && errno != EINTR { writing = false }  // the server closed: keep reading
            if sent == input.count { writing = false }
        }
        if p.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            let n = receive(fd, &buffer, &control, into: &out)
            if n == 0 { return out }
            if n < 0 && errno != EAGAIN && errno != EINTR { return out }
        }
    }
}

/// Whole frames at the start of `bytes` that the server would accept as frames (size within its msize).
private func frameCount(_ bytes: UnsafeRawBufferPointer) -> Int {
    var n = 0, at = 0
    while at + 4 <= bytes.count {
        let size = Int(bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
        guard size >= Frame.headerSize, size <= serverMsize, at + size <= bytes.count else { break }
        n += 1
        at += size
    }
    return n
}

private func frameCount(_ bytes: [UInt8]) -> Int { bytes.withUnsafeBytes { frameCount($0) } }

/// One recvmsg: bytes appended to `out.replies`, SCM_RIGHTS descriptors to `out.fds`.
private func receive(_ fd: Int32, _ buffer: inout [UInt8], _ control: inout [UInt8], into out: inout PumpOutcome) -> Int {
    buffer.withUnsafeMutableBytes { b in
        control.withUnsafeMutableBytes { c in
            var v = iovec(iov_base: b.baseAddress, iov_len: b.count)
            return withUnsafeMutablePointer(to: &v) { iov in
                var m = msghdr()
                m.msg_iov = iov
                m.msg_iovlen = 1
                m.msg_control = c.baseAddress
                m.msg_controllen = c.count
                let n = recvmsg(fd, &m, Int32(MSG_CMSG_CLOEXEC))
                guard n > 0 else { return n }
                out.replies += UnsafeRawBufferPointer(start: b.baseAddress, count: n)
                // cmsghdr is 16 bytes (len[8] level[4] type[4]); the descriptors follow it.
                var offset = 0
                while offset + 16 <= m.msg_controllen {
                    let len = c.load(fromByteOffset: offset, as: Int.self)
                    let level = c.load(fromByteOffset: offset + 8, as: Int32.self)
                    let type = c.load(fromByteOffset: offset + 12, as: Int32.self)
                    guard len >= 16 else { break }
                    if level == SOL_SOCKET && type == 1 /* SCM_RIGHTS */ {
                        for i in 0..<(len - 16) / 4 { out.fds.append(c.load(fromByteOffset: offset + 16 + 4 * i, as: Int32.self)) }
                    }
                    offset += (len + 7) & ~7
                }
                return n
            }
        }
    }
}

/// Every QID the server sent must name something inside the export.
private func checkReplies(_ bytes: [UInt8], forbidden: Set<UInt64>) {
    func check(_ q: QID, _ what: String) {
        if forbidden.contains(q.path & 0x00FF_FFFF_FFFF_FFFF) { fatalError("escape: \(what) carries the QID of \(q) outside the export") }
    }
    bytes.withUnsafeBytes { all in
        var at = 0
        while at + Frame.headerSize <= all.count {
            let size = Int(all.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
            guard size >= Frame.headerSize, at + size <= all.count else { return }
            let frame = UnsafeRawBufferPointer(rebasing: all[at..<at + size])
            at += size
            guard let (_, m) = try? Frame.decodeAny(frame: frame, limit: serverMsize) else { continue }
            switch m {
            case let r as any QIDMessage: check(r.qid, "\(type(of: r))")
            case let r as any OpenReply: check(r.qid, "\(type(of: r))")
            case let r as Rwalk: r.qids.forEach { check($0, "Rwalk") }
            case let r as Rwalkgetattr: r.qids.forEach { check($0, "Rwalkgetattr") }
            case let r as Rmultigetattr: r.stats.forEach { check($0.qid, "Rmultigetattr") }
            case let r as Rgetattr: check(r.qid, "Rgetattr")
            case let r as Rreaddir: r.entries.forEach { check($0.qid, "Rreaddir") }
            default: break
            }
        }
    }
}

// MARK: the export and what surrounds it

/// The tree every input starts from (Tests/GoferTests/FuzzCorpusRecorder.swift records its seeds over the same one).
private func makeExport() {
    removeTree(exportPath)
    precondition(mkdir(exportPath, 0o755) == 0, "mkdir export: \(errno)")
    var bytes = [UInt8](repeating: 0, count: 10_000)
    for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
    writeFile(exportPath + "/a", bytes)
    _ = mkdir(exportPath + "/dir", 0o755)
    _ = mkdir(exportPath + "/dir/sub", 0o755)
    writeFile(exportPath + "/dir/b", Array("hello".utf8))
    _ = symlink("a", exportPath + "/link")
    _ = symlink("../outside/secret", exportPath + "/up")
    _ = symlink(outsidePath + "/secret", exportPath + "/abs")
    _ = mkfifo(exportPath + "/fifo", 0o644)
}

private func checkOutside(_ s: inout Session) {
    var st = stat()
    guard lstat(outsidePath, &st) == 0, st.st_ino == s.outsideStat.st_ino, st.st_mtim.tv_nsec == s.outsideStat.st_mtim.tv_nsec,
          st.st_mtim.tv_sec == s.outsideStat.st_mtim.tv_sec, st.st_mode == s.outsideStat.st_mode else {
        fatalError("escape: \(outsidePath) changed")
    }
    guard lstat(outsidePath + "/secret", &st) == 0, st.st_ino == s.secretStat.st_ino, st.st_size == s.secretStat.st_size,
          st.st_ctim.tv_sec == s.secretStat.st_ctim.tv_sec, st.st_ctim.tv_nsec == s.secretStat.st_ctim.tv_nsec else {
        fatalError("escape: \(outsidePath)/secret changed")
    }
    let events = drainEvents(&s)
    if let e = events.first { fatalError("escape: \(e)") }
}

/// Reads pending inotify events; returns those that are not the harness's own re-creation of the export.
@discardableResult
private func drainEvents(_ s: inout Session) -> [String] {
    var found: [String] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(s.inotify, &buf, buf.count)
        guard n > 0 else { return found }
        var at = 0
        while at + 16 <= n {
            let wd = buf.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: Int32.self) }
            let mask = buf.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self) }
            let len = Int(buf.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self) })
            let name = String(decoding: buf[(at + 16)..<(at + 16 + len)].prefix { $0 != 0 }, as: UTF8.self)
            at += 16 + len
            if wd != s.outsideWatch && name == "export" { continue }
            found.append("inotify mask 0x\(String(mask, radix: 16)) on \(wd == s.outsideWatch ? outsidePath : base)/\(name)")
        }
    }
}

/// No input may leave a device node in the export (LocalGofer refuses to make them).
private func checkNoDevices(_ dir: String) {
    forEachEntry(dir) { path, st in
        let t = st.st_mode & S_IFMT
        if t == S_IFCHR || t == S_IFBLK { fatalError("escape: device node \(path) in the export") }
    }
}

// MARK: small host helpers

private func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    precondition(fd >= 0, "open \(path): \(errno)")
    precondition(write(fd, bytes, bytes.count) == bytes.count)
    close(fd)
}

/// Calls `body` for every entry below `dir` (children before their directory), without following symlinks.
private func forEachEntry(_ dir: String, _ body: (String, stat) -> Void) {
    _ = chmod(dir, 0o700)  // an input may have left a directory unreadable
    guard let d = opendir(dir) else { return }
    defer { closedir(d) }
    while let e = readdir(d) {
        let name = withUnsafePointer(to: &e.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
        if name == "." || name == ".." { continue }
        let path = dir + "/" + name
        var st = stat()
        guard lstat(path, &st) == 0 else { continue }
        if st.st_mode & S_IFMT == S_IFDIR { forEachEntry(path, body) }
        body(path, st)
    }
}

private func removeTree(_ path: String) {
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    if st.st_mode & S_IFMT == S_IFDIR {
        forEachEntry(path) { p, st in _ = st.st_mode & S_IFMT == S_IFDIR ? rmdir(p) : unlink(p) }
        _ = rmdir(path)
    } else {
        _ = unlink(path)
    }
}

private func entries(_ dir: String) -> Int {
    guard let d = opendir(dir) else { return -1 }
    defer { closedir(d) }
    var n = 0
    while readdir(d) != nil { n += 1 }
    return n - 3  // ".", ".." and the descriptor opendir holds
}

private func linkTarget(_ path: String) -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink(path, &buf, buf.count - 1)
    return n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
}

/// Polls `condition` until `deadline` (CLOCK_MONOTONIC nanoseconds).
private func waitFor(until deadline: UInt64, _ condition: () -> Bool) -> Bool {
    while now() < deadline {
        if condition() { return true }
        usleep(50)
    }
    return condition()
}

private func now() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}
