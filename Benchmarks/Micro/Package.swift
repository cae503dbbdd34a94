// swift-tools-version:6.1
// Microbenchmarks of the hot paths (codec, copySeq, null RPC) with ordo-one/benchmark.
// A package of its own so that the main build and CI do not compile the benchmark framework.
// Run: scripts/microbench (or `swift package --package-path Benchmarks/Micro benchmark`).
import PackageDescription

let package = Package(
    name: "swift-gofer-micro",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-gofer", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "Codec",
            dependencies: [.product(name: "P9", package: "swift-gofer"), .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/Codec",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "CopySeq",
            dependencies: [.product(name: "SafeMem", package: "swift-gofer"), .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/CopySeq",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "NullRPC",
            dependencies: [
                .product(name: "P9", package: "swift-gofer"), .product(name: "LocalGofer", package: "swift-gofer"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/NullRPC",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ]
)
