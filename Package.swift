// swift-tools-version:6.0
//
// n2spd: a self-supervised image denoiser (Noise2Same / Noise2SamePro) that runs as a systemd service.
//
// Layering (nothing imports a target above it):
//   C shims (COpenBLAS, CChecksum, CTFProtos, CImageCodecs)
//   CheckpointImport   TF V2 bundle reader/writer, safetensors, model weights + architecture
//   Denoiser           tensors, forward ops, U-Net, inference engine, tiling, image files
//   Trainer            backward ops, masking, losses, Adam, training loop
//   Daemon             config, inbox watching, ledger, worker, fine-tune scheduler, sd_notify
//   n2sp / n2spd       executables
//
// Build flags: the numeric code must be compiled for the host's vector units. Without a target CPU,
// Swift lowers `addingProduct` / SIMD FMA to a software `fmaf` call and runs 30-40x slower
// (measured, ../shared/research/swift-spike.md). We target Haswell (AVX2 + FMA), the baseline of every
// x86-64 machine this service is meant for; AVX-512 was measured to gain nothing on this Zen 4 host.
import PackageDescription

let hostVectorSwift: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
let hostVectorC: [CSetting] = [.unsafeFlags(["-march=haswell", "-O3"])]

let package = Package(
    name: "n2spd",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "n2sp", targets: ["n2sp"]),
        .executable(name: "n2spd", targets: ["n2spd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // MARK: C shims
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "CChecksum", cSettings: hostVectorC),
        .target(name: "CTFProtos", cSettings: hostVectorC, linkerSettings: [.linkedLibrary("protobuf-c")]),
        .target(
            name: "CImageCodecs",
            cSettings: hostVectorC + [.unsafeFlags(["-I/usr/include/libpng16"])],
            linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        // Linux calls the daemon needs that Swift's Glibc does not expose (renameat2, ioprio_set, pipe2).
        .target(name: "CDaemonSys"),

        // MARK: libraries
        .target(name: "CheckpointImport", dependencies: ["CTFProtos", "CChecksum"], swiftSettings: hostVectorSwift),
        .target(
            name: "Denoiser", dependencies: ["CheckpointImport", "COpenBLAS", "CImageCodecs"],
            swiftSettings: hostVectorSwift),
        .target(name: "Trainer", dependencies: ["Denoiser", "CheckpointImport", "COpenBLAS"], swiftSettings: hostVectorSwift),
        .target(
            name: "Daemon",
            dependencies: [
                "Denoiser", "Trainer", "CheckpointImport", "CDaemonSys", .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: hostVectorSwift),

        // MARK: executables
        .executableTarget(
            name: "n2sp",
            dependencies: [
                "CheckpointImport", "Denoiser", "Trainer", "Daemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: hostVectorSwift),
        .executableTarget(
            name: "n2spd",
            dependencies: ["Daemon", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: hostVectorSwift),

        // MARK: tests
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "CheckpointImportTests", dependencies: ["CheckpointImport", "TestSupport"], swiftSettings: hostVectorSwift),
        .testTarget(name: "DenoiserTests", dependencies: ["Denoiser", "TestSupport"], swiftSettings: hostVectorSwift),
        .testTarget(name: "TrainerTests", dependencies: ["Trainer", "Denoiser", "TestSupport"], swiftSettings: hostVectorSwift),
        .testTarget(name: "DaemonTests", dependencies: ["Daemon", "TestSupport"], swiftSettings: hostVectorSwift),
    ]
)
