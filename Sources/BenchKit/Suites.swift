import BenchReport
/// What a scenario is: its name, the parameters it uses and what one op does.
public struct ScenarioSpec: Sendable {
    /// The scenario's name (the `--scenario` word).
    public let name: String
    /// The parameters it uses, in report order; other flags are ignored for it.
    public let params: [ParamKey]
    /// What one op is (shown by `bench list`).
    public let op: String
    /// Whether ops move payload bytes (then MiB/s is reported).
    public let movesBytes: Bool
    /// For a scenario whose params lack `resolver`: the params of its `--resolver direct` rows, which run beside the
    /// usual ones (no `path` or `multiblock`: the direct resolver's data path is the host descriptor it opened itself).
    public var directParams: [ParamKey]? = nil
    /// Whether `--threads` and `--sharing` apply (they join the params only when given; null-rpc lists `threads` itself).
    public var threaded = false

    /// Every scenario, in run order.
    public static let all: [ScenarioSpec] = [
        ScenarioSpec(name: "stat", params: [.mode, .resolver, .depth, .state],
                     op: "one stat of a path of `depth` components (cold: caches dropped before each op; replaced: the "
                         + "last component replaced by a new inode before each op through a second 9P connection, as another client would, "
                         + "then fs.reclaim(); both background); "
                         + "with --threads, `threads` callers on one filesystem (warm only), each on its own path (sharing private) "
                         + "or all on one (shared)",
                     movesBytes: false, threaded: true),
        ScenarioSpec(name: "open-read-close", params: [.mode, .path, .blockSize, .msize],
                     op: "open + read one block of `block_size` at offset 0 + close, of a file opened once before (cached)",
                     movesBytes: true, directParams: [.mode, .resolver, .blockSize, .msize], threaded: true),
        ScenarioSpec(name: "seq-read", params: [.mode, .path, .blocks, .blockSize, .multiblock, .fileSize, .msize],
                     op: "one I/O unit of `blocks` x `block_size` bytes read sequentially from a file of `file_size` "
                         + "(wrapping at the end), as a BlockSeq of `blocks` blocks; with --threads, `threads` callers on one "
                         + "filesystem, each reading its own file (sharing private) or all one file through one open description (shared)",
                     movesBytes: true, directParams: [.mode, .resolver, .blocks, .blockSize, .fileSize, .msize], threaded: true),
        ScenarioSpec(name: "seq-write", params: [.mode, .path, .blocks, .blockSize, .multiblock, .fileSize, .msize],
                     op: "one I/O unit of `blocks` x `block_size` bytes written sequentially into a file of `file_size` "
                         + "(wrapping at the end), as a BlockSeq of `blocks` blocks; in exclusive and writethrough every "
                         + "repetition ends with an fsync inside the measured time (the write-back is measured)",
                     movesBytes: true, directParams: [.mode, .resolver, .blocks, .blockSize, .fileSize, .msize], threaded: true),
        ScenarioSpec(name: "null-rpc", params: [.threads],
                     op: "one Tgetattr on a walked fid through the Client (no filesystem): raw RPC latency; "
                         + "`threads` callers share the connection",
                     movesBytes: false),
        ScenarioSpec(name: "create-unlink", params: [.mode, .resolver],
                     op: "create (O_CREAT|O_EXCL) + close + unlink of a new file in a scratch folder; "
                         + "fs.reclaim() between ops releases the stale dentry (background)",
                     movesBytes: false, threaded: true),
        ScenarioSpec(name: "mkdir-rmdir", params: [.mode, .resolver],
                     op: "mkdir + rmdir of a new folder in a scratch folder; fs.reclaim() between ops (background)",
                     movesBytes: false, threaded: true),
        ScenarioSpec(name: "readdir", params: [.mode, .entries, .state],
                     op: "one full listing of a folder of `entries` files (cold: caches dropped before each op, background; "
                         + "warm: whatever the mode caches is kept; replaced is skipped)",
                     movesBytes: false, directParams: [.mode, .resolver, .entries, .state]),
        ScenarioSpec(name: "rename", params: [.mode, .resolver],
                     op: "rename a file a -> b and back b -> a (the pair); fs.reclaim() between ops (background)",
                     movesBytes: false, threaded: true),
        ScenarioSpec(name: "readlink", params: [.mode, .resolver],
                     op: "one readlink of a symlink (the target is cached except in Shared)",
                     movesBytes: false, threaded: true),
        ScenarioSpec(name: "fsync", params: [.mode, .path],
                     op: "write 4 KiB + fsync, cycling through the first 64 KiB of a file",
                     movesBytes: false, directParams: [.mode, .resolver]),
        ScenarioSpec(name: "rand-read", params: [.mode, .path, .blocks, .blockSize, .multiblock, .fileSize],
                     op: "one I/O unit of `blocks` x `block_size` bytes read at a random unit-aligned offset of a file of "
                         + "`file_size` (offsets drawn from --seed), as a BlockSeq of `blocks` blocks",
                     movesBytes: true, directParams: [.mode, .resolver, .blocks, .blockSize, .fileSize], threaded: true),
        ScenarioSpec(name: "rand-write", params: [.mode, .path, .blocks, .blockSize, .multiblock, .fileSize],
                     op: "one I/O unit of `blocks` x `block_size` bytes written at a random unit-aligned offset of a file of "
                         + "`file_size` (offsets drawn from --seed), as a BlockSeq of `blocks` blocks; in exclusive and "
                         + "writethrough every repetition ends with an fsync inside the measured time (the write-back is measured)",
                     movesBytes: true, directParams: [.mode, .resolver, .blocks, .blockSize, .fileSize], threaded: true),
        ScenarioSpec(name: "workload", params: [.mode, .resolver],
                     op: "one run of --command (/bin/sh -c, $MOUNT set) in a FUSE mount of the filesystem (gofer-mount's "
                         + "mapping, kernel caching by mode), from the mount's root; fio's JSON output (--output-format=json) "
                         + "adds its bandwidth and IOPS to the result (without --command: echo > f, cat, ls -la, rm); native: the "
                         + "same command in a local folder",
                     movesBytes: false),
    ]

    /// The scenario called `name`.
    public static func named(_ name: String) -> ScenarioSpec? { all.first { $0.name == name } }
}

/// A named set of scenarios with default parameter values and measurement settings.
public struct Suite: Sendable {
    /// The suite's name (the `--suite` word).
    public let name: String
    /// The scenarios it runs, by name.
    public let scenarios: [String]
    /// Default values of every parameter for every scenario of the suite.
    public let defaults: [ParamKey: [ParamValue]]
    /// Per-scenario overrides of `defaults`.
    public let overrides: [String: [ParamKey: [ParamValue]]]
    /// Measured repetitions per combination.
    public let repetitions: Int
    /// Unmeasured ops before the first repetition.
    public let warmup: Int
    /// Length of one repetition.
    public let durationNs: UInt64
    /// The server the suite runs against unless `--server` says otherwise (nil: builtin).
    public var server: ServerSpec? = nil
    /// Rounds the repetitions are spread over when the suite's scenarios run (`--rounds`).
    public var rounds = 1

    /// The bench's default msize request: 1 MiB of payload plus room for the header.
    public static let defaultMsize = (1 << 20) + (4 << 10)

    /// The default values of `key` for `scenario`.
    public func values(_ key: ParamKey, for scenario: String) -> [ParamValue] {
        overrides[scenario]?[key] ?? defaults[key] ?? []
    }

    /// Every suite, in the order `--suite` lists them.
    public static let all = [quick, ci, full, ciDiod]

    /// The suite called `name` (quick, ci, ci-diod or full).
    public static func named(_ name: String) -> Suite? { all.first { $0.name == name } }

    private static func t(_ words: String...) -> [ParamValue] { words.map { .text($0) } }
    private static func n(_ ints: Int...) -> [ParamValue] { ints.map { .int($0) } }

    private static let base: [ParamKey: [ParamValue]] = [
        .mode: t("exclusive", "shared"), .resolver: t("vfs2", "vfs1"), .path: t("hostfd", "9p"),
        .blocks: n(1, 4), .blockSize: n(64 << 10), .multiblock: t("buffered", "scatter"), .fileSize: n(8 << 20),
        .depth: n(3), .state: t("cold", "warm", "replaced"), .threads: n(1, 2), .sharing: t("private"), .msize: n(defaultMsize), .entries: n(10_000),
    ]

    /// The scenarios of issue 9 (stat, data paths, null RPC).
    private static let core = ["stat", "open-read-close", "seq-read", "seq-write", "null-rpc"]

    /// About a minute on a 2-core machine: every scenario, the main modes (Exclusive writes with their write-back);
    /// 20 short repetitions in 10 rounds, so that each median has a 95% interval (x(6) to x(15)) that a burst of
    /// noise on a shared host does not stretch, where 5 long ones could only give their whole range.
    public static let quick = Suite(
        name: "quick", scenarios: ScenarioSpec.all.map(\.name), defaults: base,
        overrides: ["open-read-close": [.blockSize: n(4 << 10)],
                    "create-unlink": [.resolver: t("vfs2")], "mkdir-rmdir": [.resolver: t("vfs2")],
                    "rename": [.resolver: t("vfs2")], "readlink": [.resolver: t("vfs2")],
                    "readdir": [.state: t("cold", "warm")],
                    "rand-read": [.blocks: n(1), .blockSize: n(4 << 10), .multiblock: t("buffered")],
                    "rand-write": [.blocks: n(1), .blockSize: n(4 << 10), .multiblock: t("buffered")]],
        repetitions: 20, warmup: 40, durationNs: 25_000_000, rounds: 10)

    /// What CI gates on (every scenario Benchmarks/thresholds.json selects), under ~2 minutes.
    public static let ci = Suite(
        name: "ci", scenarios: core + ["create-unlink", "readdir", "fsync", "rand-read"],
        defaults: base.merging([.mode: t("exclusive", "writethrough", "shared"), .resolver: t("vfs2", "vfs1", "multi"), .depth: n(3, 20),
                                .fileSize: n(16 << 20)]) { $1 },
        overrides: ["stat": [.resolver: t("vfs2", "vfs1", "multi", "direct")],
                    "open-read-close": [.mode: t("exclusive", "shared"), .resolver: t("direct"), .blockSize: n(4 << 10)],
                    "seq-read": [.mode: t("exclusive", "shared"), .blocks: n(1, 16), .blockSize: n(4 << 10, 64 << 10)],
                    "seq-write": [.mode: t("shared"), .blocks: n(1, 16)],
                    "create-unlink": [.mode: t("exclusive", "shared"), .resolver: t("vfs2", "direct")],
                    "readdir": [.mode: t("exclusive", "shared"), .entries: n(1000), .state: t("cold")],
                    "fsync": [.mode: t("shared"), .path: t("hostfd", "9p")],
                    "rand-read": [.mode: t("shared"), .blocks: n(1), .blockSize: n(4 << 10), .multiblock: t("buffered")]],
        repetitions: 5, warmup: 20, durationNs: 150_000_000)

    /// The small diod pass of CI: the stat RPC model on a plain 9P2000.L server (the direct resolver's vfs2 route
    /// included) and the Tread split at its msize (65536), so that the diod rules of Benchmarks/thresholds.json are
    /// judged; a few seconds.
    public static let ciDiod = Suite(
        name: "ci-diod", scenarios: ["stat", "seq-read", "create-unlink"],
        defaults: base.merging([.mode: t("shared"), .resolver: t("vfs2", "vfs1", "direct"), .depth: n(3),
                                .state: t("cold", "warm", "replaced"), .path: t("9p"), .blocks: n(1, 16), .multiblock: t("scatter"),
                                .fileSize: n(1 << 20)]) { $1 },
        overrides: ["seq-read": [.resolver: t("vfs2")], "create-unlink": [.mode: t("exclusive"), .resolver: t("direct")]],
        repetitions: 2, warmup: 5, durationNs: 50_000_000, server: .diod)

    /// Everything: every mode, resolver and strategy; the I/O cross products trimmed to 1 and 16 blocks of 64K and
    /// 1M (sequential) or 4K (random); 10 repetitions of 100 ms, each in a round of its own (the 10 round means
    /// `bench compare` needs to see small changes): a release run takes about 12 minutes on a 2-core machine.
    public static let full = Suite(
        name: "full", scenarios: ScenarioSpec.all.map(\.name),
        defaults: [
            .mode: t("exclusive", "writethrough", "shared", "none"), .resolver: t("vfs2", "vfs1", "multi", "direct"),
            .path: t("hostfd", "9p"), .blocks: n(1, 4, 16), .blockSize: n(4 << 10, 64 << 10, 1 << 20),
            .multiblock: t("buffered", "scatter"), .fileSize: n(64 << 20), .depth: n(3, 20),
            .state: t("cold", "warm", "replaced"), .threads: n(1, 2), .sharing: t("private"), .msize: n(defaultMsize),
            .entries: n(10_000),
        ],
        overrides: ["seq-read": [.blocks: n(1, 16), .blockSize: n(64 << 10, 1 << 20)],
                    "seq-write": [.blocks: n(1, 16), .blockSize: n(64 << 10, 1 << 20)],
                    "readdir": [.state: t("cold", "warm")],
                    "rand-read": [.blocks: n(1, 16), .blockSize: n(4 << 10)],
                    "rand-write": [.blocks: n(1, 16), .blockSize: n(4 << 10)]],
        repetitions: 10, warmup: 50, durationNs: 100_000_000, rounds: 10)
}
