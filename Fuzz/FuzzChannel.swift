// The channel mode of the server harness (FUZZ_TRANSPORT=channel, `scripts/fuzz channel`): the harness negotiates
// N = 13 and one shared-memory channel over the socket, then posts each frame of the input into the channel's
// window as a hostile client would (a size field that does not describe a whole frame posts the rest of the
// input as it stands). Findings as in FuzzServer.swift, plus a hang: no reply and no close within 1 s of a post.
import CShims
import Glibc
import P9

/// Whether inputs go through a channel rather than the socket.
let channelMode = getenv("FUZZ_TRANSPORT").map { String(cString: $0) == "channel" } ?? false

/// The channel's layout (P9's ChannelRegion): the state word, the waiting flags, then the window.
private let stateOffset = 0, serverWaitingOffset = 64, clientWaitingOffset = 128, windowOffset = 4096

/// Negotiates a channel on `fd` and posts `input` through it frame by frame; replies land in `out.replies`.
func pumpChannel(_ fd: Int32, _ input: UnsafeRawBufferPointer, msize: Int) -> (replies: [UInt8], fds: [Int32]) {
    var out: (replies: [UInt8], fds: [Int32]) = ([], [])
    var timeout = timeval(tv_sec: 1, tv_usec: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    guard setupCall(fd, Tversion(msize: UInt32(msize), version: P9Version.string(for: P9Version.highest)), tag: Tag.none, &out) == .rversion,
          setupCall(fd, Tchannel(id: 0, control: 0), tag: Tag(rawValue: 1), &out) == .rchannel, let memfd = out.fds.popLast() else {
        return out
    }
    defer { close(memfd) }
    let size = windowOffset + msize
    guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0), base != MAP_FAILED else {
        fatalError("mapping the channel failed: \(errno)")
    }
    defer { munmap(base, size) }
    let state = (base + stateOffset).assumingMemoryBound(to: UInt32.self)
    let serverWaiting = (base + serverWaitingOffset).assumingMemoryBound(to: UInt32.self)
    let window = base + windowOffset
    // Always asleep as far as the server knows: it wakes the harness on every reply.
    cshims_store_u32((base + clientWaitingOffset).assumingMemoryBound(to: UInt32.self), 1)
    var at = 0
    while at < input.count {
        var length = input.count - at
        if length >= 4 {
            let s = Int(input.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
            if s >= Frame.headerSize && s <= length { length = s }
        }
        let posted = min(length, msize)
        window.copyMemory(from: input.baseAddress! + at, byteCount: posted)
        at += length
        cshims_store_u32(state, 1)  // request
        if cshims_load_u32(serverWaiting) != 0 { _ = cshims_futex_wake(state, Int32.max) }
        guard awaitReply(fd, state) else { return out }
        let replySize = Int(window.loadUnaligned(as: UInt32.self).littleEndian)
        guard replySize >= Frame.headerSize, replySize <= msize else { fatalError("the server posted a \(replySize)-byte reply") }
        out.replies += UnsafeRawBufferPointer(start: window, count: replySize)
    }
    return out
}

/// Waits for the server's reply (true) or its close of the connection (false); a hang after 1 s.
private func awaitReply(_ fd: Int32, _ state: UnsafeMutablePointer<UInt32>) -> Bool {
    let deadline = monotonic() + 1_000_000_000
    while monotonic() < deadline {
        let s = cshims_load_u32(state)
        if s == 2 { return true }
        var p = pollfd(fd: fd, events: Int16(POLLIN) | 0x2000 /* POLLRDHUP */, revents: 0)
        if poll(&p, 1, 0) == 1 && p.revents & (0x2000 | Int16(POLLHUP | POLLERR)) != 0 { return false }
        _ = cshims_futex_wait(state, s, 5_000_000)
    }
    fatalError("hang: no reply on the channel and no close for 1 s")
}

/// One setup request on the socket and its reply's type (nil: no reply); a descriptor with it goes to `out.fds`.
private func setupCall<M: Message>(_ fd: Int32, _ m: M, tag: Tag, _ out: inout (replies: [UInt8], fds: [Int32])) -> MessageType? {
    var frame = [UInt8](repeating: 0, count: 512)
    let size = frame.withUnsafeMutableBytes { b in (try? Frame.encode(m, tag: tag, into: b, msize: b.count)) ?? 0 }
    guard size > 0, frame.withUnsafeBytes({ send(fd, $0.baseAddress, size, Int32(MSG_NOSIGNAL)) }) == size else { return nil }
    var reply = [UInt8](repeating: 0, count: 512)
    var got = 0
    var fds: (Int32, Int32, Int32, Int32) = (-1, -1, -1, -1)
    while got < Frame.headerSize || got < Int(reply.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian }) {
        var nfds: Int32 = 0
        let n = reply.withUnsafeMutableBytes { b in
            withUnsafeMutableBytes(of: &fds) { f in
                var v = iovec(iov_base: b.baseAddress! + got, iov_len: (got < Frame.headerSize ? Frame.headerSize : min(b.count, Int(b.loadUnaligned(as: UInt32.self).littleEndian))) - got)
                return cshims_recvmsg_fds(fd, &v, 1, f.baseAddress!.assumingMemoryBound(to: Int32.self), 4, &nfds)
            }
        }
        withUnsafeBytes(of: fds) { f in for i in 0..<Int(nfds) { out.fds.append(f.load(fromByteOffset: 4 * i, as: Int32.self)) } }
        guard n > 0 else { return nil }
        got += n
        if got >= Frame.headerSize && Int(reply.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian }) > reply.count { return nil }
    }
    out.replies += reply[..<got]
    return MessageType(rawValue: reply[4])
}

private func monotonic() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
