import ArgumentParser
import Foundation
import SigilCore

/// `sigil assess`: the tenant's security posture against the seed's checklist.
struct Assess: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score the tenant against the checklist: each item with its evidence and the command that fixes it; the score is kept per day.")
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runAdmin { client in
            let assessment = try await client.call("GET", "assessment")
            if output.json { return Output.json(assessment) }
            print("score: \(assessment["score"].text)/100")
            for item in assessment["items"].arrayValue ?? [] {
                let mark = item["passed"].boolValue == true ? "ok  " : "todo"
                print("\(mark) \(item["title"].text): \(item["evidence"].text)")
                if let fix = item["fix"].stringValue { print("     fix: \(fix)") }
            }
            let trend = (assessment["trend"].arrayValue ?? []).suffix(14).map { "\($0["date"].text) \($0["score"].text)" }
            if trend.count > 1 { print("trend: " + trend.joined(separator: ", ")) }
        }
    }
}
