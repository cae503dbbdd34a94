/// What the workload scenario adds to its result: the command, and fio's own figures when it printed JSON.
public struct WorkloadResult: Codable, Sendable, Equatable {
    /// The shell command run in the mount.
    public var command: String
    /// Runs whose output was fio JSON (0: none was; the fio fields are then nil).
    public var fioRuns: Int
    /// Median over those runs of fio's read and write bandwidth (MiB/s, every job summed) and IOPS.
    public var fioReadMiBPerSecond: Double?
    public var fioReadIOPS: Double?
    public var fioWriteMiBPerSecond: Double?
    public var fioWriteIOPS: Double?

    /// A result of `command` with no fio figures yet.
    public init(command: String) {
        self.command = command
        fioRuns = 0
    }

    enum CodingKeys: String, CodingKey {
        case command
        case fioRuns = "fio_runs"
        case fioReadMiBPerSecond = "fio_read_mib_per_s", fioReadIOPS = "fio_read_iops"
        case fioWriteMiBPerSecond = "fio_write_mib_per_s", fioWriteIOPS = "fio_write_iops"
    }
}
