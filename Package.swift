// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "profhist",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "profhist", targets: ["profhist"]),
        .library(name: "ProfhistKit", targets: ["ProfhistKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // pprof's profile.proto (the generated Swift code is committed: Sources/ProfhistKit/Parse/Pprof/).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // Tests only: renders check's Markdown summary to prove it parses as intended.
        .package(url: "https://github.com/JohnSundell/Ink", from: "0.6.0"),
    ],
    targets: [
        // Turns Migrations/*.sql and Queries/*.sql into a Swift source file at build time, so the installed
        // binary carries its SQL and needs nothing beside it.
        .executableTarget(name: "EmbedSQLTool", path: "Sources/EmbedSQLTool"),
        .plugin(
            name: "EmbedSQLPlugin",
            capability: .buildTool(),
            dependencies: ["EmbedSQLTool"]
        ),
        // C++ demangling through the C++ runtime's __cxa_demangle, used when llvm-symbolizer is absent.
        .target(
            name: "CDemangle",
            path: "Sources/CDemangle",
            linkerSettings: [.linkedLibrary("stdc++")]
        ),
        // statfs(2)'s f_type, to tell a store on a network file system (Glibc's Swift module lacks <sys/vfs.h>).
        .target(name: "CFileSystem", path: "Sources/CFileSystem"),
        // sqlite3_config (variadic, so not callable from Swift): the CLI puts SQLite in multi-thread mode.
        .target(name: "CSQLiteConfig", path: "Sources/CSQLiteConfig", linkerSettings: [.linkedLibrary("sqlite3")]),
        // gzip in and out through the system zlib (pprof files are gzipped; dumps may be): a two-function shim,
        // whose header also exports zlib's own API for the streaming inflate of gzip input (InputSource), instead
        // of compress-nio, which would bring swift-nio into every build for a few calls.
        .target(name: "CGzip", path: "Sources/CGzip", linkerSettings: [.linkedLibrary("z")]),
        .target(
            name: "ProfhistKit",
            dependencies: [
                "CDemangle",
                "CFileSystem",
                "CGzip",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the few hot insert loops of an ingest (see RawStatement).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            plugins: ["EmbedSQLPlugin"]
        ),
        .executableTarget(
            name: "profhist",
            dependencies: [
                "ProfhistKit",
                "CSQLiteConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "ProfhistTestSupport",
            dependencies: ["ProfhistKit", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ProfhistKitTests",
            dependencies: [
                "ProfhistKit", "ProfhistTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Ink", package: "Ink"),
            ],
            exclude: ["Golden"]
        ),
    ]
)
