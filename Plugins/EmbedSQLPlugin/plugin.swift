import Foundation
import PackagePlugin

/// Embeds the package's top-level `Migrations/` and `Queries/` folders into the target that uses it.
///
/// SwiftPM resources outside a target's folder are fragile on Linux, and `Bundle.module` breaks once the
/// binary is copied elsewhere. A generated Swift file makes the SQL part of the binary itself.
@main
struct EmbedSQLPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let folders = ["Migrations", "Queries"].map { root.appending(path: $0) }
        var inputs: [URL] = []
        for folder in folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            inputs += names.filter { $0.hasSuffix(".sql") }.sorted().map { folder.appending(path: $0) }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedSQL.swift")
        return [
            .buildCommand(
                displayName: "Embedding Migrations/ and Queries/ into \(target.name)",
                executable: try context.tool(named: "EmbedSQLTool").url,
                arguments: [output.path] + folders.map(\.path),
                // The folders too: adding or removing a file changes them, so the SQL is embedded again.
                inputFiles: folders + inputs,
                outputFiles: [output]
            )
        ]
    }
}
