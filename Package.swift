// swift-tools-version:6.1
import PackageDescription

// Linux only (Glibc, /proc/self/fd, SCM_RIGHTS, process_vm_readv, OFD locks): sources import Glibc unconditionally.
#if !os(Linux)
#error("swift-gofer builds on Linux only")
#endif

let package = Package(
    name: "swift-gofer",
    products: [
        .library(name: "Gofer", targets: ["Gofer"]),
        .library(name: "P9", targets: ["P9"]),
        .library(name: "SafeMem", targets: ["SafeMem"]),
        .library(name: "LocalGofer", targets: ["LocalGofer"]),
        .executable(name: "bench", targets: ["bench"]),
        .executable(name: "goferd", targets: ["goferd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // Syscalls Swift cannot see: SCM_RIGHTS, preadv2/pwritev2, process_vm_readv/writev, openat2, statx, getdents64, CPU affinity.
        .target(name: "CShims"),
        // The EINTR retry every module's syscalls share.
        .target(name: "Syscall", dependencies: [.product(name: "SystemPackage", package: "swift-system")]),
        .systemLibrary(name: "CNuma"),
        .target(name: "SafeMem", dependencies: [
            "CShims", "Syscall", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .target(name: "NUMA", dependencies: ["CNuma"]),
        .target(name: "P9", dependencies: [
            "CShims", "Syscall", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // A user-space link that delays every 9P frame (latency injection where the kernel has no netem).
        .target(name: "LinkRelay", dependencies: [
            "CShims", "P9", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .target(name: "LocalGofer", dependencies: [
            "CShims", "P9", "Syscall", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .target(name: "Gofer", dependencies: [
            "CShims", "P9", "SafeMem", "Syscall", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // Process and host support shared by the bench and the tests: spawning, CPU placement, temporary folders.
        .target(name: "HostSupport", dependencies: ["NUMA", .product(name: "SystemPackage", package: "swift-system")]),
        // The report side of the bench: the report model and its JSON/CSV/SVG forms, check, compare, statistics.
        .target(name: "BenchReport", dependencies: ["P9"]),
        // The measuring side: scenarios, runner, limits, the builtin server, the command line.
        .target(name: "BenchKit", dependencies: [
            "BenchReport", "CShims", "Gofer", "HostSupport", "LinkRelay", "LocalGofer", "NUMA", "P9", "SafeMem",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .executableTarget(name: "bench", dependencies: ["BenchKit"]),
        .executableTarget(name: "goferd", dependencies: [
            "LocalGofer", "P9",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Helpers shared by the test targets: temporary directories, a diod process, waiting on conditions.
        .target(name: "TestSupport", dependencies: ["HostSupport", "P9"]),
        .testTarget(name: "SafeMemTests", dependencies: [
            "CShims", "SafeMem", "TestSupport", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .testTarget(name: "NUMATests", dependencies: ["NUMA"]),
        .testTarget(name: "P9Tests", dependencies: ["P9", "TestSupport", .product(name: "SystemPackage", package: "swift-system")]),
        .testTarget(name: "LinkRelayTests", dependencies: [
            "LinkRelay", "LocalGofer", "P9", "TestSupport", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .testTarget(name: "LocalGoferTests", dependencies: [
            "CShims", "LocalGofer", "P9", "TestSupport", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .testTarget(name: "GoferTests", dependencies: ["CShims", "Gofer", "LocalGofer", "P9", "SafeMem", "TestSupport"]),
        .testTarget(name: "BenchKitTests", dependencies: ["BenchKit", "BenchReport", "HostSupport", "NUMA", "P9", "TestSupport"],
                    exclude: ["Golden"]),  // reports written by an earlier bench, read by path
    ],
    swiftLanguageModes: [.v6]
)
