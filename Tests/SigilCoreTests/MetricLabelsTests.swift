import SigilCore
import Testing

/// The label values metrics carry are fixed sets: whatever a request holds, it cannot add a series.
@Suite struct MetricLabelsTests {
    @Test func anErrorCodeNotInTheFixedSetIsOtherAndNeverItself() {
        for unknown in ["invalid_client\"}", "7000215", "Invalid_Client", String(repeating: "x", count: 300)] {
            #expect(MetricLabels.tokenErrors[MetricLabels.tokenErrorIndex(unknown)] == "other")
        }
        #expect(MetricLabels.tokenErrors[MetricLabels.tokenErrorIndex(nil)] == "")
        #expect(MetricLabels.tokenErrors[MetricLabels.tokenErrorIndex("invalid_client")] == "invalid_client")
        #expect(Set(MetricLabels.tokenErrors).count == MetricLabels.tokenErrors.count)
    }

    @Test func everyCredentialTypeHasItsLabelAndNoneIsLast() {
        for type in CredentialType.allCases {
            #expect(MetricLabels.credentialTypes[MetricLabels.credentialTypeIndex(type)] == type.rawValue)
        }
        #expect(MetricLabels.credentialTypes[MetricLabels.credentialTypeIndex(nil)] == "none")
    }

    @Test func statusCodesFallIntoTheirClassAndNonsenseIsAServerError() {
        let cases = [(100, "1xx"), (200, "2xx"), (204, "2xx"), (302, "3xx"), (401, "4xx"), (499, "4xx"), (503, "5xx"), (599, "5xx"), (0, "5xx"), (700, "5xx")]
        for (code, label) in cases { #expect(MetricLabels.statusClasses[MetricLabels.statusClassIndex(code)] == label, "\(code)") }
    }

    @Test func routeGroupsAreToldFromThePath() {
        let cases: [(String, RouteGroup)] = [
            ("/9188040d-6c67-4c5b-b112-36a304b66dad/oauth2/v2.0/token", .token), ("/common/oauth2/v2.0/authorize", .token),
            ("/admin/v1/applications", .admin), ("/agent/v1/hosts/join", .agent), ("/vaults/payroll/secrets/db", .vault),
            ("/.well-known/oauth-authorization-server/t/v2.0", .discovery), ("/t/v2.0/.well-known/openid-configuration", .discovery),
            ("/t/discovery/v2.0/keys", .discovery), ("/healthz", .other), ("/metrics", .other), ("/", .other), ("", .other),
            ("//admin", .admin), ("/administrator", .other), ("/oauth2", .other),
        ]
        for (path, group) in cases { #expect(RouteGroup(path: path) == group, "\(path)") }
        for group in RouteGroup.allCases { #expect(RouteGroup.allCases[group.index] == group) }
    }
}
