import Foundation
import Mustache
import SigilCore

/// The dashboard's templates and stylesheet, read once from the package's resources. Every value
/// goes through mustache's HTML escaping: no template uses triple braces.
enum DashboardTemplates {
    static let folder: URL = Bundle.module.url(forResource: "Dashboard", withExtension: nil)!

    static let library: MustacheLibrary = {
        // The templates ship inside the package's resource bundle; a build without them is broken.
        var library = MustacheLibrary()
        let files = try! FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        for file in files where file.pathExtension == "mustache" {
            try! library.register(String(contentsOf: file, encoding: .utf8), named: file.deletingPathExtension().lastPathComponent)
        }
        return library
    }()

    static let stylesheet: String = try! String(contentsOf: folder.appendingPathComponent("dashboard.css"), encoding: .utf8)

    /// A chart's values for `chart.mustache`: its geometry (one decimal), a legend, and the same
    /// numbers as a table, which is also what assistive technology reads.
    static func chart(_ chart: StackedBarChart, id: String, title: String, description: String, categories: [String]) -> [String: Any] {
        func number(_ value: Double) -> String { String(format: "%.1f", value) }
        let plot = StackedBarChart.plot
        return [
            "id": id, "title": title, "description": description,
            "width": number(StackedBarChart.width), "height": number(StackedBarChart.height),
            "left": number(plot.left), "right": number(plot.right), "top": number(plot.top), "bottom": number(plot.bottom),
            "labelY": number(plot.bottom + 16), "tickX": number(plot.left - 6), "axisMaximum": chart.axisMaximum,
            "ticks": chart.ticks.map { ["value": $0.value, "y": number($0.y), "labelY": number($0.y + 4)] },
            "segments": chart.segments.map {
                [
                    "series": $0.series, "seriesIndex": $0.seriesIndex, "category": $0.category, "value": $0.value, "x": number($0.x),
                    "y": number($0.y), "width": number($0.width), "height": number($0.height),
                ] as [String: Any]
            },
            // The axis shows MM-DD (a full date would not fit under a bar); the data keeps the whole day.
            "labels": chart.labels.map { ["text": String($0.text.suffix(5)), "x": number($0.x), "total": $0.total] as [String: Any] },
            "legend": chart.series.enumerated().map { ["name": $1.name, "index": $0] as [String: Any] },
            "rows": categories.enumerated().map { index, category -> [String: Any] in
                ["category": category, "values": chart.series.map { $0.values[index] }, "total": chart.labels[index].total]
            },
        ]
    }
}
