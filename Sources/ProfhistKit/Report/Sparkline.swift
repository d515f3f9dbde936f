import Foundation

/// Unicode block sparklines for tables: ▁▂▃▄▅▆▇█, scaled from the series' minimum (or 0) to its maximum.
public enum Sparkline {
    static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// A sparkline of at most `width` characters; a longer series is averaged into buckets.
    public static func render(_ values: [Double], width: Int = 16) -> String {
        guard !values.isEmpty, width > 0 else { return "" }
        var series = values
        if series.count > width {
            series = (0..<width).map { bucket in
                let start = bucket * values.count / width
                let end = max(start + 1, (bucket + 1) * values.count / width)
                let slice = values[start..<end]
                return slice.reduce(0, +) / Double(slice.count)
            }
        }
        let low = min(series.min() ?? 0, 0)
        let high = series.max() ?? 0
        guard high > low else { return String(repeating: blocks[0], count: series.count) }
        return String(series.map { value in
            let level = Int(((value - low) / (high - low) * Double(blocks.count - 1)).rounded())
            return blocks[max(0, min(blocks.count - 1, level))]
        })
    }
}
