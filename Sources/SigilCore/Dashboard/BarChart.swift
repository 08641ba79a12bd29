import Foundation

/// A stacked bar chart's geometry, computed from its data without drawing anything: the
/// dashboard's template turns it into SVG. One bar per category (a day), one segment per series
/// (a credential type); heights are proportional to the values on a y axis from 0 to a round
/// maximum with evenly spaced ticks.
public struct StackedBarChart: Sendable, Equatable {
    /// One series: a value for each category, in the categories' order.
    public struct Series: Sendable, Equatable {
        public var name: String
        public var values: [Int]

        public init(name: String, values: [Int]) {
            self.name = name
            self.values = values
        }
    }

    /// One drawn rectangle.
    public struct Segment: Sendable, Equatable {
        public var series: String
        /// The series' position, for its colour.
        public var seriesIndex: Int
        public var category: String
        public var value: Int
        public var x: Double
        public var y: Double
        public var width: Double
        public var height: Double
    }

    /// A labelled value on the y axis.
    public struct Tick: Sendable, Equatable {
        public var value: Int
        public var y: Double
    }

    /// A category's label under its bar, and the bar's total.
    public struct Label: Sendable, Equatable {
        public var text: String
        public var x: Double
        public var total: Int
    }

    public static let width = 640.0
    public static let height = 260.0
    /// Room for the y axis labels on the left and the x labels below.
    public static let plot = (left: 48.0, top: 12.0, right: 632.0, bottom: 224.0)
    static let tickCount = 4

    public let series: [Series]
    public let segments: [Segment]
    public let ticks: [Tick]
    public let labels: [Label]
    /// The top of the y axis: a round number at least the largest bar.
    public let axisMaximum: Int

    public init(categories: [String], series: [Series]) {
        self.series = series
        let totals = categories.indices.map { index in series.reduce(0) { $0 + ($1.values.indices.contains(index) ? $1.values[index] : 0) } }
        let step = Self.roundStep(for: totals.max() ?? 0)
        axisMaximum = step * Self.tickCount
        let plotHeight = Self.plot.bottom - Self.plot.top
        let slot = (Self.plot.right - Self.plot.left) / Double(max(categories.count, 1))
        let barWidth = slot * 0.7
        ticks = (0...Self.tickCount).map { Tick(value: $0 * step, y: Self.plot.bottom - plotHeight * Double($0) / Double(Self.tickCount)) }
        var segments: [Segment] = []
        var labels: [Label] = []
        for (index, category) in categories.enumerated() {
            let x = Self.plot.left + slot * Double(index) + (slot - barWidth) / 2
            var base = Self.plot.bottom
            for (seriesIndex, entry) in series.enumerated() {
                let value = entry.values.indices.contains(index) ? entry.values[index] : 0
                guard value > 0 else { continue }
                let height = plotHeight * Double(value) / Double(axisMaximum)
                base -= height
                segments.append(Segment(
                    series: entry.name, seriesIndex: seriesIndex, category: category, value: value, x: x, y: base, width: barWidth, height: height))
            }
            labels.append(Label(text: category, x: x + barWidth / 2, total: totals[index]))
        }
        self.segments = segments
        self.labels = labels
    }

    /// The smallest of 1, 2 or 5 times a power of ten whose `tickCount` multiples reach `maximum`.
    static func roundStep(for maximum: Int) -> Int {
        let needed = max(1, (maximum + tickCount - 1) / tickCount)
        var power = 1
        while true {
            for factor in [1, 2, 5] where factor * power >= needed { return factor * power }
            power *= 10
        }
    }
}
