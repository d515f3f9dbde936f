import ArgumentParser
import Foundation
import ProfhistKit

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML report: growth charts, the growth table, flame graphs.",
        discussion: """
            The page needs no network (no CDN, no fonts; a Content-Security-Policy forbids every fetch), so it \
            opens from a CI artifact or an e-mail. It shows the total per build with the builds where significant \
            growth began, top's rows (sortable, searchable; click one for its stack and chart), a flame graph of \
            any build, a differential flame graph of two builds (default: the build before the top regression and \
            the regression's build), tasks when the store has task snapshots, and with --check, check's verdict.

              profhist report --output report.html
              profhist report --output report.html --builds v1.0.. --check
            """
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write.", valueName: "path"))
    var output: String

    @OptionGroup var series: SeriesOptions

    @OptionGroup var tests: GrowthTestOptions

    @Option(name: .long, help: ArgumentHelp("Rows of the growth table (0: all).", valueName: "n"))
    var limit: Int = 100

    @Flag(name: .long, help: "Also run check (the newest build against the 10 before it) and show its verdict.")
    var check = false

    @Option(name: .long, help: ArgumentHelp("The page's title.", valueName: "text"))
    var title: String = "profhist report"

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if limit < 0 { throw ValidationError("--limit must be 0 or more") }
        if output.isEmpty { throw ValidationError("--output must name a file") }
    }

    func run() throws {
        try reportingErrors {
            let opened = try store.openForReading()
            var options = HTMLReportOptions()
            options.filter = series.filter
            tests.apply(to: &options.growth)
            options.growth.grouping = series.group
            options.growth.limit = limit
            options.title = title
            if check {
                var checkOptions = CheckOptions()
                checkOptions.maxGrowth = series.filter.metric.isBytes ? 65536 : 1
                options.check = checkOptions
            }
            // Opened first: a bad --output (the store itself, a missing folder) fails before the long render.
            let file = try OutputFile(path: output, protecting: store.path)
            let page: String
            do {
                page = try HTMLReport(options: options).render(opened)
            } catch {
                file.abandon()
                throw error
            }
            file.write(page)
            try file.commit()
            printError("wrote \(output) (\(ByteCount.human(Double(page.utf8.count))))")
        }
    }
}
