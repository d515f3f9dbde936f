// swift-tools-version:6.1
// libFuzzer harnesses for profhist's parsers. A package of its own so the main package, its tests and CI are
// unaffected: these executables only link with libFuzzer, which supplies `main`. Build and run them through
// Fuzz/run.sh (ASan and coverage instrumentation come from its `swift build` flags).
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which differs between clones (main, a worktree, CI's
// checkout), so the product reference reads it from where this manifest lives.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let mainPackage = root.lastPathComponent.lowercased()

// `swift build --sanitize=fuzzer` would also compile the SQL-embedding plugin's tool without its `main`, so run.sh
// instruments every module for coverage with `-sanitize-coverage` and only the harnesses link libFuzzer. SwiftPM
// points `main` at each executable's own top-level code, which hands over to libFuzzer's driver.
func harness(_ name: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport", .product(name: "ProfhistKit", package: mainPackage)],
        linkerSettings: [.unsafeFlags(["-sanitize=fuzzer"])]
    )
}

let package = Package(
    name: "profhist-fuzz",
    dependencies: [.package(path: root.path)],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(
            name: "FuzzSupport", dependencies: ["CLibFuzzer", .product(name: "ProfhistKit", package: mainPackage)]),
        harness("fuzz-heap"),
        harness("fuzz-console"),
        harness("fuzz-taskdump"),
        harness("fuzz-recording"),
    ]
)
