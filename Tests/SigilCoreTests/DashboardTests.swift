import Foundation
import SigilCore
import Testing

/// The dashboard's pure parts: its sign-in secrets and CSRF tokens, and the chart geometry the
/// templates draw.
@Suite struct DashboardTests {
    // MARK: Bad input

    @Test(arguments: ["", "short", String(repeating: "A", count: 42), String(repeating: "A", count: 44), String(repeating: "*", count: 43),
        String(repeating: "A", count: 42) + "="])
    func secretsOfTheWrongShapeAreRefusedBeforeAnyLookup(_ text: String) {
        #expect(!DashboardSignIn.isWellFormed(text))
    }

    @Test func aCSRFTokenOfAnotherSessionOrNoneIsRefused() {
        let session = DashboardSignIn.newSecret()
        let other = DashboardSignIn.newSecret()
        #expect(!DashboardSignIn.checkCSRF(nil, session: session))
        #expect(!DashboardSignIn.checkCSRF("", session: session))
        #expect(!DashboardSignIn.checkCSRF("not base64url!", session: session))
        #expect(!DashboardSignIn.checkCSRF(DashboardSignIn.csrfToken(session: other), session: session))
        #expect(DashboardSignIn.checkCSRF(DashboardSignIn.csrfToken(session: session), session: session))
    }

    @Test func secretsAre256RandomBitsStoredOnlyAsTheirDigest() {
        let secrets = (0..<50).map { _ in DashboardSignIn.newSecret() }
        #expect(Set(secrets).count == secrets.count)
        for secret in secrets {
            #expect(DashboardSignIn.isWellFormed(secret))
            #expect(Base64URL.decode(secret)?.count == 32)
            let digest = DashboardSignIn.digest(secret)
            #expect(digest.count == 64 && !digest.contains(secret))
        }
        #expect(DashboardSignIn.csrfToken(session: secrets[0]) != secrets[0])
    }

    // MARK: Charts

    @Test func barHeightsAreProportionalToTheValuesAndStackInOrder() throws {
        let chart = StackedBarChart(
            categories: ["d1", "d2", "d3"],
            series: [.init(name: "clientSecret", values: [10, 0, 30]), .init(name: "managedIdentity", values: [5, 20, 0])])
        let plotHeight = StackedBarChart.plot.bottom - StackedBarChart.plot.top
        #expect(chart.axisMaximum == 40)  // 30 needs steps of 10: 0, 10, 20, 30, 40
        #expect(chart.segments.count == 4)  // zero values draw nothing
        for segment in chart.segments {
            #expect(abs(segment.height - plotHeight * Double(segment.value) / 40) < 1e-9)
        }
        // d1's managed identity segment sits on its client secret segment.
        let d1 = chart.segments.filter { $0.category == "d1" }
        #expect(d1.map(\.series) == ["clientSecret", "managedIdentity"])
        #expect(abs(d1[0].y + d1[0].height - StackedBarChart.plot.bottom) < 1e-9)
        #expect(abs(d1[1].y + d1[1].height - d1[0].y) < 1e-9)
        #expect(chart.labels.map(\.total) == [15, 20, 30])
        // Bars go left to right in the categories' order, all the same width.
        let xs = chart.labels.map(\.x)
        #expect(xs == xs.sorted() && Set(chart.segments.map(\.width)).count == 1)
    }

    @Test func theAxisIsLabelledFromZeroToARoundMaximumInEvenSteps() {
        let chart = StackedBarChart(categories: ["a"], series: [.init(name: "certificate", values: [1234])])
        #expect(chart.ticks.map(\.value) == [0, 500, 1000, 1500, 2000])
        #expect(chart.ticks.first?.y == StackedBarChart.plot.bottom && chart.ticks.last?.y == StackedBarChart.plot.top)
        let gaps = zip(chart.ticks, chart.ticks.dropFirst()).map { $0.y - $1.y }
        #expect(gaps.allSatisfy { abs($0 - gaps[0]) < 1e-9 })
    }

    @Test func anEmptyChartStillHasAnAxis() {
        let chart = StackedBarChart(categories: ["a", "b"], series: [])
        #expect(chart.segments.isEmpty && chart.axisMaximum == 4 && chart.labels.map(\.total) == [0, 0])
    }
}
