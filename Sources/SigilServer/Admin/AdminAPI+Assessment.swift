import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// The security assessment (`sigil assess`): the tenant scored against the seed's checklist, each
/// item with its evidence and the command that fixes it; every assessment records the day's score.
extension AdminAPI {
    /// How many days of scores an assessment returns as its trend.
    static let postureTrendDays = 90

    var assessmentRoutes: [AdminRoute] {
        [
            AdminRoute(.get, "assessment", .reportsRead) { request, _, caller in
                _ = try Self.reportParameters(request, allowed: [])
                let now = Date()
                let (assessment, items, trend) = try await store.assessPosture(tenantId: caller.tenant.id, now: now, trendDays: Self.postureTrendDays)
                return .json([
                    "score": .number(Double(assessment.score)), "assessedDateTime": .date(now), "items": items,
                    "trend": .array(trend.map { ["date": .string(String($0.day.iso8601.prefix(10))), "score": .number(Double($0.score))] }),
                ])
            },
        ]
    }
}

extension Store {
    /// Assesses the tenant at `now` and keeps the score as the day's (the day's last assessment
    /// wins); returns it with its items as JSON and the scores of the last `trendDays` days.
    func assessPosture(tenantId: String, now: Date, trendDays: Int) async throws -> (PostureAssessment, JSONValue, [(day: Date, score: Int)]) {
        let assessment = PostureAssessment(try await postureFacts(tenantId: tenantId, now: now))
        let items = JSONValue.array(assessment.items.map(AdminJSON.postureItem))
        let trend = try await recordPostureScore(tenantId: tenantId, score: assessment.score, items: items, now: now, days: trendDays)
        return (assessment, items, trend)
    }
}

extension AdminJSON {
    static func postureItem(_ item: PostureItem) -> JSONValue {
        [
            "id": .string(item.id), "title": .string(item.title), "score": .number(item.score), "passed": .bool(item.passed),
            "evidence": .string(item.evidence), "fix": item.fix.isEmpty ? .null : .string(item.fix),
        ]
    }
}
