import Glibc

/// The data path, in swift-system's vocabulary: `read(into:at:)` and `write(from:at:)`, for one buffer, several,
/// or iovecs. Every form cuts the memory into runs of at most msize - 24 bytes, one Tread or Twrite each,
/// stopping at a short transfer; payloads move straight between the socket and the caller's memory. A read
/// of several runs keeps up to `ClientOptions.readPipelineDepth` Treads in flight.
extension ClientFile {
    /// Reads into `buffer` from `offset`; returns the bytes read (short or 0 at EOF).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(P9Error) -> Int {
        var v = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
        return try withUnsafePointer(to: &v) { (p) throws(P9Error) -> Int in
            try read(into: UnsafeBufferPointer(start: p, count: 1), at: offset)
        }
    }

    /// Writes `buffer` at `offset`; returns the bytes written (short if the server wrote less).
    public func write(from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(P9Error) -> Int {
        var v = iovec(iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress), iov_len: buffer.count)
        return try withUnsafePointer(to: &v) { (p) throws(P9Error) -> Int in
            try write(from: UnsafeBufferPointer(start: p, count: 1), at: offset)
        }
    }

    /// Scatter read: fills the memory `iovecs` describe, in order, from `offset`. Returns the bytes read (short at EOF).
    public func read(into iovecs: UnsafeBufferPointer<iovec>, at offset: UInt64) throws(P9Error) -> Int {
        try checkLive()
        var total = 0
        for v in iovecs { total += v.iov_len }
        let limit = Self.runSize(total: total, payload: client.payloadSize)
        if total > limit && client.options.readPipelineDepth > 1 {
            return try pipelinedRead(iovecs, total: total, limit: limit, at: offset)
        }
        return try inPayloadRuns(iovecs, limit: limit, at: offset) { (run, at, count) throws(P9Error) -> Int in
            try client.read(fid: fid, into: run, count: count, at: at)
        }
    }

    /// Gather write: sends the memory `iovecs` describe, in order, at `offset`. Returns the bytes written.
    public func write(from iovecs: UnsafeBufferPointer<iovec>, at offset: UInt64) throws(P9Error) -> Int {
        try checkLive()
        return try inPayloadRuns(iovecs, limit: client.payloadSize, at: offset) { (run, at, count) throws(P9Error) -> Int in
            let n = try client.write(fid: fid, from: run, count: count, at: at)
            guard n <= count else { throw P9Error.protocolViolation("Rwrite count \(n) exceeds the \(count) bytes sent") }
            return n
        }
    }

    /// Scatter read into several buffers (see the iovec form).
    public func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: UInt64) throws(P9Error) -> Int {
        try withIOVecs(buffers.map { iovec(iov_base: $0.baseAddress, iov_len: $0.count) }) { (v) throws(P9Error) -> Int in
            try read(into: v, at: offset)
        }
    }

    /// Gather write from several buffers (see the iovec form).
    public func write(from buffers: [UnsafeRawBufferPointer], at offset: UInt64) throws(P9Error) -> Int {
        try withIOVecs(buffers.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }) {
            (v) throws(P9Error) -> Int in try write(from: v, at: offset)
        }
    }

    private func withIOVecs(_ iovs: [iovec], _ body: (UnsafeBufferPointer<iovec>) throws(P9Error) -> Int) throws(P9Error) -> Int {
        var result: Result<Int, P9Error> = .success(0)
        iovs.withUnsafeBufferPointer { v in
            do throws(P9Error) { result = .success(try body(v)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// The bytes per Tread for a read of `total`: the payload size, or that rounded down to whole pages when
    /// this takes as many Treads (page-aligned runs stay page-aligned in the file, which the server can splice).
    static func runSize(total: Int, payload: Int) -> Int {
        let page = 4096
        let aligned = payload / page * page
        guard aligned > 0, aligned < payload else { return payload }
        return (total + aligned - 1) / aligned == (total + payload - 1) / payload ? aligned : payload
    }

    /// Calls `transfer(run, offset, bytes)` for consecutive runs of at most `limit` bytes of `iovecs`
    /// (an iovec split where a run ends), stopping at a short transfer; returns the bytes transferred.
    private func inPayloadRuns(_ iovecs: UnsafeBufferPointer<iovec>, limit: Int, at offset: UInt64,
                               _ transfer: (UnsafeBufferPointer<iovec>, UInt64, Int) throws(P9Error) -> Int) throws(P9Error) -> Int {
        // The runs are built on the stack: no allocation per call for the usual handful of iovecs.
        var outcome: Result<Int, P9Error> = .success(0)
        withUnsafeTemporaryAllocation(of: iovec.self, capacity: max(iovecs.count, 1)) { run in
            var index = 0, skip = 0, done = 0
            while index < iovecs.count {
                var count = 0, bytes = 0
                while bytes < limit && index < iovecs.count {
                    let v = iovecs[index]
                    let n = min(limit - bytes, v.iov_len - skip)
                    if n > 0 {
                        run[count] = iovec(iov_base: v.iov_base.map { $0 + skip }, iov_len: n)
                        count += 1
                        bytes += n
                    }
                    skip += n
                    if skip == v.iov_len { index += 1; skip = 0 }
                }
                if bytes == 0 { break }
                do throws(P9Error) {
                    let n = try transfer(UnsafeBufferPointer(rebasing: run[0..<count]), offset + UInt64(done), bytes)
                    done += n
                    if n < bytes { break }
                } catch {
                    outcome = .failure(error)
                    return
                }
            }
            outcome = .success(done)
        }
        return try outcome.get()
    }
}

extension ClientFile {
    /// One run of a pipelined read: `count` iovecs from `first` of the shared list, `bytes` at file `offset`.
    private struct ReadRun {
        var first: Int
        var count: Int
        var bytes: Int
        var offset: UInt64
    }

    /// A read of several runs with up to `readPipelineDepth` Treads in flight. Bytes count up to the first short
    /// run; every Tread started is waited for before returning (their payloads land in caller memory).
    private func pipelinedRead(_ iovecs: UnsafeBufferPointer<iovec>, total: Int, limit: Int, at offset: UInt64) throws(P9Error) -> Int {
        let runCount = (total + limit - 1) / limit
        let depth = min(client.options.readPipelineDepth, runCount)
        // Every run's iovecs side by side (a run boundary splits at most one iovec), built on the stack.
        return try withUnsafeTemporaryAllocation(of: iovec.self, capacity: iovecs.count + runCount) { (list) throws(P9Error) -> Int in
            try withUnsafeTemporaryAllocation(of: ReadRun.self, capacity: runCount) { (runs) throws(P9Error) -> Int in
                var index = 0, skip = 0, used = 0
                for r in 0..<runCount {
                    var bytes = 0
                    let first = used
                    while bytes < limit && index < iovecs.count {
                        let v = iovecs[index]
                        let n = min(limit - bytes, v.iov_len - skip)
                        if n > 0 {
                            list[used] = iovec(iov_base: v.iov_base.map { $0 + skip }, iov_len: n)
                            used += 1
                            bytes += n
                        }
                        skip += n
                        if skip == v.iov_len { index += 1; skip = 0 }
                    }
                    runs[r] = ReadRun(first: first, count: used - first, bytes: bytes, offset: offset + UInt64(r * limit))
                }
                return try withUnsafeTemporaryAllocation(of: Client.PendingCall.self, capacity: depth) {
                    (inFlight) throws(P9Error) -> Int in
                    var started = 0, finished = 0, done = 0
                    var stopped = false
                    var failure: P9Error?
                    while true {
                        while !stopped && failure == nil && started < runCount && started - finished < depth {
                            let run = runs[started]
                            let sink = UnsafeBufferPointer(rebasing: list[run.first..<(run.first + run.count)])
                            do throws(P9Error) {
                                (inFlight.baseAddress! + started % depth).initialize(
                                    to: try client.startRead(fid: fid, into: sink, count: run.bytes, at: run.offset))
                                started += 1
                            } catch {
                                failure = error
                            }
                        }
                        guard finished < started else { break }
                        let call = (inFlight.baseAddress! + finished % depth).move()
                        let expected = runs[finished].bytes
                        finished += 1
                        do throws(P9Error) {
                            let n = try client.finishRead(call)
                            if failure == nil && !stopped {
                                done += n
                                if n < expected { stopped = true }  // end of file: later runs read nothing useful
                            }
                        } catch {
                            if failure == nil && !stopped { failure = error }
                        }
                    }
                    if let failure { throw failure }
                    return done
                }
            }
        }
    }
}
