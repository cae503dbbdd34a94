#if canImport(Glibc)
import Glibc
#endif
import BenchReport
import CShims
import Foundation
import Gofer
import GoferFUSE
import HostSupport

/// The workload's command when --command is not given: create, write, read, list and remove a file.
let defaultWorkloadCommand = "echo gofer > f && cat f > /dev/null && ls -la > /dev/null && rm f"

/// A scenario that runs a shell command per op and reports it (and fio's figures) in the result's `workload`.
protocol WorkloadReporting: AnyObject {
    var runner: WorkloadCommand { get }
}

/// fio's figures of one run: read and write bandwidth (MiB/s) and IOPS, every job summed.
typealias FioFigures = (readMiB: Double, readIOPS: Double, writeMiB: Double, writeIOPS: Double)

/// Runs the workload's command in one folder and keeps fio's figures from each run.
final class WorkloadCommand {
    let command: String
    let directory: String
    /// fio's figures of every run that printed them.
    private(set) var fio: [FioFigures] = []

    init(command: String, directory: String) {
        self.command = command
        self.directory = directory
    }

    /// One run: /bin/sh -c with $MOUNT set to the folder, from the folder; a non-zero exit fails the op. Spawned
    /// and reaped directly (waitpid): Foundation's Process polls for the exit every 50 ms, which timed the poll.
    func run() throws {
        var env = ProcessInfo.processInfo.environment
        env["MOUNT"] = directory
        var pipe: [Int32] = [-1, -1]
        var granted: Int32 = 0
        guard cshims_pipe(&pipe, 0, &granted) == 0 else { throw BenchError.server("--command: pipe: \(String(cString: strerror(errno)))") }
        let child: ChildProcess
        do {
            defer { Glibc.close(pipe[1]) }
            child = try ChildProcess(["/bin/sh", "-c", #"cd "$MOUNT" && exec /bin/sh -c "$0""#, command], log: nil, output: pipe[1],
                                     environment: env, ownProcessGroup: false)
        } catch {
            Glibc.close(pipe[0])
            throw error
        }
        let data = Data(readAll(pipe[0]))
        Glibc.close(pipe[0])
        let status = child.wait()
        guard status == 0 else {
            let text = String(decoding: data.suffix(2000), as: UTF8.self)
            let how = status & 0x7F == 0 ? "exited with \((status >> 8) & 0xFF)" : "was killed by signal \(status & 0x7F)"
            throw BenchError.server("--command \(how): \(text)")
        }
        if let f = Self.fioFigures(data) { fio.append(f) }
    }

    /// Read and write bandwidth (MiB/s) and IOPS summed over the jobs of fio's JSON output; nil when it is not that.
    static func fioFigures(_ data: Data) -> FioFigures? {
        // fio may print notes before the JSON object.
        guard let start = data.firstIndex(of: UInt8(ascii: "{")),
              let root = try? JSONSerialization.jsonObject(with: data[start...]) as? [String: Any],
              let jobs = root["jobs"] as? [[String: Any]], !jobs.isEmpty else { return nil }
        var r = (readMiB: 0.0, readIOPS: 0.0, writeMiB: 0.0, writeIOPS: 0.0)
        func number(_ v: Any?) -> Double { (v as? NSNumber)?.doubleValue ?? 0 }
        for job in jobs {
            let read = job["read"] as? [String: Any], write = job["write"] as? [String: Any]
            // fio's "bw" is KiB/s.
            r.readMiB += number(read?["bw"]) / 1024
            r.readIOPS += number(read?["iops"])
            r.writeMiB += number(write?["bw"]) / 1024
            r.writeIOPS += number(write?["iops"])
        }
        return r
    }

    /// The command and the medians of fio's figures over the runs that printed them.
    var summary: WorkloadResult { Self.summary(command: command, fio: fio) }

    /// `command` and the medians of `fio` (the figures of one combination's runs, over its rounds).
    static func summary(command: String, fio: [FioFigures]) -> WorkloadResult {
        var w = WorkloadResult(command: command)
        w.fioRuns = fio.count
        guard !fio.isEmpty else { return w }
        func median(_ values: [Double]) -> Double {
            let s = values.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        w.fioReadMiBPerSecond = median(fio.map(\.readMiB))
        w.fioReadIOPS = median(fio.map(\.readIOPS))
        w.fioWriteMiBPerSecond = median(fio.map(\.writeMiB))
        w.fioWriteIOPS = median(fio.map(\.writeIOPS))
        return w
    }
}

/// One run of `--command` in a FUSE mount of the filesystem (what gofer-mount serves), from the mount's root.
///
/// The mount's worker threads send their RPCs on the measured connection, so the runner counts them per run. The
/// kernel's and the client's caches persist from run to run, as they would for a user running the command again.
final class WorkloadScenario: ScenarioInstance, WorkloadReporting {
    let fs: Filesystem
    let mount: FUSEMount
    let runner: WorkloadCommand
    private let served = DispatchSemaphore(value: 0)
    private var closed = false

    init(_ params: ParamSet, _ env: ScenarioEnvironment) throws {
        guard access("/dev/fuse", R_OK | W_OK) == 0 else { throw BenchError.skip("/dev/fuse is absent: nothing can be mounted") }
        var options = try filesystemOptions(params)
        // The client keeps what the kernel may cache, within the descriptors an inproc server shares with it.
        options.maxCachedDentries = 5_000
        let fs = try Filesystem(client: env.client, options: options, aname: env.aname, uname: env.uname, nUname: env.uid)
        env.copies.track(fs)
        do {
            let mountpoint = try makeTemporaryDirectory(prefix: "bench-workload")
            do {
                mount = try FUSEMount(filesystem: fs, mountpoint: mountpoint, fsname: "gofer-bench")
            } catch {
                rmdir(mountpoint)
                throw error
            }
        } catch {
            fs.release()
            throw BenchError.skip("cannot mount for the workload: \(error)")
        }
        self.fs = fs
        runner = WorkloadCommand(command: env.command ?? defaultWorkloadCommand, directory: mount.mountpoint)
        let m = mount, done = served
        // serve() blocks: it runs on a thread of its own and starts its workers from there.
        Thread.detachNewThread {
            _ = m.serve()
            done.signal()
        }
    }

    func op(thread: Int) throws -> Int {
        try runner.run()
        return 0
    }

    func close() {
        guard !closed else { return }
        closed = true
        if !FUSEMount.unmount(mount.mountpoint) { _ = FUSEMount.unmount(mount.mountpoint) }
        served.wait()
        fs.release()
        rmdir(mount.mountpoint)
    }
}

/// The native floor of the workload: the same command in a scratch folder of the local export (no mount, no 9P).
final class NativeWorkload: ScenarioInstance, WorkloadReporting {
    let runner: WorkloadCommand

    init(_ params: ParamSet, _ env: NativeEnvironment, command: String?) throws {
        let dir = try env.fixtures.makeScratchDirectory("workload")
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/fd/\(env.root)", &buffer, buffer.count - 1)
        guard n > 0 else { throw BenchError.fixture("cannot name the native scratch folder") }
        let root = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        runner = WorkloadCommand(command: command ?? defaultWorkloadCommand, directory: root + "/" + dir.drop { $0 == "/" })
    }

    func op(thread: Int) throws -> Int {
        try runner.run()
        return 0
    }

    func close() {}
}
