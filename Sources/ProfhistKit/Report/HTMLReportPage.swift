import Foundation

/// The HTML page of `profhist report`: one self-contained file, the data as JSON inside it, drawn by a small
/// inline script (`HTMLReportScript`) into SVG.
///
/// Hand-written rather than a charting library: no packaged, licensed flame-graph or charting script is
/// installable on this machine, and what the page needs (line charts, sparklines, an icicle flame graph, a
/// sortable table) is a few hundred lines. A Content-Security-Policy of `default-src 'none'` makes the browser
/// refuse any fetch, so the page provably works from a CI artifact or an e-mail attachment.
public enum HTMLReportPage {
    /// Renders the page for `data`.
    public static func render(_ data: HTMLReportData) throws -> String {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let json = String(decoding: try encoder.encode(data), as: UTF8.self)
        // `<` only occurs inside JSON strings; as \u003c it can never close the script element or open a comment.
        let safeJSON = json.replacingOccurrences(of: "<", with: "\\u003c")
        let title = escape(data.title)
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title)</title>
            <style>\(style)</style>
            </head>
            <body>
            <header><h1>\(title)</h1><nav id="nav"></nav><div id="meta" class="note"></div></header>
            <main>
            <section id="check" hidden><h2>Check</h2><div id="check-body"></div></section>
            <section id="overview"><h2>Overview</h2><p class="note" id="overview-note"></p><div id="overview-chart" class="chart"></div></section>
            <section id="growth"><h2>Growth</h2>
            <div class="controls"><input id="growth-search" type="search" placeholder="search functions" aria-label="search functions"><span id="growth-count" class="note"></span></div>
            <table id="growth-table" class="growth"></table></section>
            <section id="flame"><h2>Flame graph</h2>
            <div class="controls"><label>build <select id="flame-build"></select></label>
            <input id="flame-search" type="search" placeholder="search frames" aria-label="search frames">
            <button id="flame-reset" type="button">reset zoom</button><span id="flame-info" class="note"></span></div>
            <div id="flame-chart" class="flamebox"></div><p class="note" id="flame-note"></p></section>
            <section id="diff"><h2>Differential flame graph</h2>
            <div class="controls"><label>base <select id="diff-base"></select></label> → <label>target <select id="diff-target"></select></label>
            <label><input id="diff-normalise" type="checkbox"> normalise by total</label>
            <input id="diff-search" type="search" placeholder="search frames" aria-label="search frames">
            <button id="diff-reset" type="button">reset zoom</button><span id="diff-info" class="note"></span></div>
            <div id="diff-chart" class="flamebox"></div>
            <p class="note legend"><span class="swatch grew"></span> grew <span class="swatch shrank"></span> shrank
            <span class="swatch new"></span> new in target <span class="swatch removed"></span> gone in target (drawn at its base width)
            · widths are the target's; colour depth is the change relative to the frame's size.</p></section>
            <section id="tasks" hidden><h2>Tasks</h2><p class="note" id="tasks-note"></p><div id="tasks-chart" class="chart"></div>
            <div class="controls"><label>metric <select id="tasks-metric"></select></label>
            <input id="tasks-search" type="search" placeholder="search locations" aria-label="search locations"><span id="tasks-count" class="note"></span></div>
            <table id="tasks-table" class="growth"></table></section>
            </main>
            <div id="tooltip" role="tooltip"></div>
            <script type="application/json" id="report-data">\(safeJSON)</script>
            <script>\(HTMLReportScript.source)</script>
            </body>
            </html>

            """
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static let style = """
        :root { --fg:#1d2330; --muted:#5d6778; --line:#d9dee7; --accent:#2f6fdf; --bad:#c62828; --good:#2e7d32; }
        * { box-sizing: border-box; }
        body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:#f6f7f9; }
        header { background:#1d2330; color:#fff; padding:10px 20px; display:flex; gap:24px; align-items:baseline; flex-wrap:wrap; position:sticky; top:0; z-index:5; }
        header h1 { font-size:18px; margin:0; }
        header nav a { color:#cfe0ff; margin-right:14px; text-decoration:none; }
        header .note { color:#b8c2d3; }
        main { padding:12px 20px 40px; max-width:1400px; margin:0 auto; }
        section { background:#fff; border:1px solid var(--line); border-radius:6px; padding:12px 16px; margin:14px 0; }
        /* The browser lays out and paints a section only when it nears the screen: the page opens fast with thousands of frames. */
        #flame, #diff, #tasks { content-visibility:auto; contain-intrinsic-size:auto 600px; }
        section { scroll-margin-top:64px; }
        h2 { font-size:16px; margin:0 0 8px; }
        .note { color:var(--muted); font-size:12.5px; }
        .controls { display:flex; gap:12px; align-items:center; flex-wrap:wrap; margin:6px 0 10px; }
        input[type=search] { padding:4px 8px; border:1px solid var(--line); border-radius:4px; min-width:220px; }
        select, button { padding:3px 6px; }
        table.growth { border-collapse:collapse; width:100%; font-size:13px; }
        table.growth th { text-align:right; border-bottom:2px solid var(--line); padding:4px 6px; cursor:pointer; user-select:none; white-space:nowrap; }
        table.growth th.text, table.growth td.text { text-align:left; }
        table.growth th[aria-sort=ascending]::after { content:" ▲"; }
        table.growth th[aria-sort=descending]::after { content:" ▼"; }
        table.growth td { text-align:right; padding:3px 6px; border-bottom:1px solid #eef0f4; white-space:nowrap; font-variant-numeric:tabular-nums; }
        table.growth td.leaf { font-family:ui-monospace, Menlo, Consolas, monospace; max-width:360px; overflow:hidden; text-overflow:ellipsis; }
        tr.growth-row { cursor:pointer; }
        tr.growth-row:hover { background:#f0f5ff; }
        tr.growth-row.significant td.leaf { font-weight:600; }
        tr.growth-row.hidden, tr.detail.hidden { display:none; }
        .badge { display:inline-block; padding:0 6px; border-radius:8px; font-size:11.5px; background:#fde7e7; color:var(--bad); }
        .badge.quiet { background:#eef0f4; color:var(--muted); }
        tr.detail td { text-align:left; background:#fafbfc; white-space:normal; }
        .detail-grid { display:grid; grid-template-columns: minmax(300px, 1fr) minmax(360px, 1.2fr); gap:16px; padding:6px 0; }
        ol.frames { margin:0; padding-left:28px; font-family:ui-monospace, Menlo, Consolas, monospace; font-size:12px; }
        ol.frames .loc { color:var(--muted); }
        ol.frames li.role-leaf { font-weight:700; color:var(--bad); }
        ol.frames li.role-allocator, ol.frames li.role-machinery { color:#9aa3b2; }
        .chart svg { display:block; }
        svg text { font:11px system-ui, sans-serif; fill:#44506a; }
        svg .axis line, svg .grid line { stroke:#e3e7ee; }
        svg .series { fill:none; stroke:var(--accent); stroke-width:2; }
        svg .point { fill:var(--accent); }
        svg .replicate { fill:#8fa8d8; opacity:0.8; }
        svg .regression-marker line { stroke:var(--bad); stroke-dasharray:4 3; stroke-width:1.5; }
        svg .regression-marker text { fill:var(--bad); font-weight:600; }
        svg .change-marker { stroke:var(--bad); stroke-dasharray:3 2; }
        svg.spark polyline { fill:none; stroke:var(--accent); stroke-width:1.5; }
        .flamebox { position:relative; overflow:hidden; border:1px solid var(--line); border-radius:4px; }
        .flamebox svg, #overview-chart svg, #tasks-chart svg { display:block; width:100%; height:auto; }
        rect.frame { stroke:#fff; stroke-width:0.5; cursor:pointer; }
        rect.frame.match { fill:#d400ff !important; }
        rect.frame.new { stroke:#111; stroke-width:1.5; stroke-dasharray:3 2; }
        rect.frame.removed { stroke:#0d2a6b; stroke-width:1.5; stroke-dasharray:2 2; }
        rect.frame.ancestor { fill-opacity:0.5; }
        text.label { font:11px ui-monospace, Menlo, Consolas, monospace; fill:#111; pointer-events:none; }
        #tooltip { position:fixed; pointer-events:none; background:#1d2330; color:#fff; padding:6px 9px; border-radius:4px; font-size:12px; max-width:520px; display:none; z-index:10; white-space:pre-line; }
        .swatch { display:inline-block; width:12px; height:12px; vertical-align:middle; border-radius:2px; margin-left:8px; }
        .swatch.grew { background:#e53935; } .swatch.shrank { background:#1e88e5; }
        .swatch.new { background:#fff; border:1.5px dashed #111; } .swatch.removed { background:#1e88e5; border:1.5px dashed #0d2a6b; }
        .verdict { font-size:18px; font-weight:700; padding:8px 12px; border-radius:4px; display:inline-block; }
        .verdict.pass { background:#e8f5e9; color:var(--good); } .verdict.fail { background:#fdecea; color:var(--bad); }
        .verdict.undecided { background:#fff8e1; color:#8d6e00; }
        """
}
