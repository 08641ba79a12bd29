import Foundation

/// What the security assessment (`sigil assess`) is computed from: facts about the tenant that the
/// store gathers, one per item of the seed's checklist.
public struct PostureFacts: Sendable, Equatable {
    /// Client applications (those with a credential or a sign-in), and those of them that still
    /// hold a client secret that could sign in.
    public var applications: Int
    public var applicationsWithSecrets: [String]
    /// Of `applicationsWithSecrets`, those whose secret a vault rotation policy keeps rotating.
    public var applicationsRotating: [String]
    public var defaultPolicyBlocksSecrets: Bool
    /// Enabled Conditional Access policies that include all service principals, by name.
    public var policiesCoveringAll: [String]
    /// Principals that may report leaks and scan bypasses without being Administrators, and when a
    /// scanner last showed it runs (a leak report, a bypass, or a sign-in of one of those
    /// principals), if within the look-back.
    public var scannerPrincipals: [String]
    public var lastScannerActivity: Date?
    /// Principals holding the Credential Rotator role over the whole tenant instead of one app.
    public var tenantWideRotators: [String]
    public var alertSubscriptions: Int

    public init(
        applications: Int, applicationsWithSecrets: [String], applicationsRotating: [String], defaultPolicyBlocksSecrets: Bool,
        policiesCoveringAll: [String], scannerPrincipals: [String], lastScannerActivity: Date?, tenantWideRotators: [String],
        alertSubscriptions: Int
    ) {
        self.applications = applications
        self.applicationsWithSecrets = applicationsWithSecrets
        self.applicationsRotating = applicationsRotating
        self.defaultPolicyBlocksSecrets = defaultPolicyBlocksSecrets
        self.policiesCoveringAll = policiesCoveringAll
        self.scannerPrincipals = scannerPrincipals
        self.lastScannerActivity = lastScannerActivity
        self.tenantWideRotators = tenantWideRotators
        self.alertSubscriptions = alertSubscriptions
    }
}

/// One checklist item: how far the tenant meets it (0 to 1), what shows it, and the command that fixes it.
public struct PostureItem: Sendable, Equatable {
    public var id: String
    public var title: String
    public var score: Double
    public var evidence: String
    /// Empty when there is nothing to fix.
    public var fix: String

    public var passed: Bool { score >= 1 }
}

/// The tenant's posture against the seed's checklist: each item weighs the same, and the score is
/// their mean, out of 100.
public struct PostureAssessment: Sendable, Equatable {
    public var items: [PostureItem]
    public var score: Int { items.isEmpty ? 0 : Int((items.map(\.score).reduce(0, +) / Double(items.count) * 100).rounded()) }

    /// How many names an item's evidence lists before it says how many more there are.
    static let named = 5

    public init(items: [PostureItem]) { self.items = items }

    public init(_ facts: PostureFacts) {
        let secrets = facts.applicationsWithSecrets
        let notRotating = secrets.filter { !facts.applicationsRotating.contains($0) }
        items = [
            PostureItem(
                id: "appsWithoutSecrets", title: "Applications without client secrets",
                score: facts.applications == 0 ? 1 : 1 - Double(secrets.count) / Double(facts.applications),
                evidence: secrets.isEmpty
                    ? "none of the \(facts.applications) client applications holds a client secret"
                    : "\(secrets.count) of \(facts.applications) client applications still hold a client secret: \(Self.list(secrets))",
                fix: secrets.first.map { "sigil migrate plan '\($0)'" } ?? ""),
            PostureItem(
                id: "remainingSecretsRotating", title: "The remaining secrets kept in a vault and rotating",
                score: secrets.isEmpty ? 1 : 1 - Double(notRotating.count) / Double(secrets.count),
                evidence: notRotating.isEmpty
                    ? (secrets.isEmpty ? "no client secret remains" : "every remaining client secret is rotated from a vault")
                    : "\(notRotating.count) of \(secrets.count) applications with a secret have no vault rotation: \(Self.list(notRotating))",
                fix: notRotating.first.map { "sigil vault rotation set VAULT/NAME --app '\($0)' --every P30D --overlap P7D" } ?? ""),
            PostureItem(
                id: "conditionalAccessCoversServicePrincipals", title: "Conditional Access covering the service principals",
                score: facts.policiesCoveringAll.isEmpty ? 0 : 1,
                evidence: facts.policiesCoveringAll.isEmpty
                    ? "no enabled Conditional Access policy includes all service principals"
                    : "enabled for all service principals: \(Self.list(facts.policiesCoveringAll))",
                fix: facts.policiesCoveringAll.isEmpty ? "sigil policy ca create --name 'Workloads from known networks' --sp All --location All --exclude-location AllTrusted" : ""),
            PostureItem(
                id: "appManagementPolicyInForce", title: "An app management policy in force",
                score: facts.defaultPolicyBlocksSecrets ? 1 : 0,
                evidence: facts.defaultPolicyBlocksSecrets
                    ? "the tenant's default app management policy refuses new client secrets"
                    : "the tenant's default app management policy lets applications add client secrets",
                fix: facts.defaultPolicyBlocksSecrets ? "" : "sigil policy app set --block-secrets"),
            PostureItem(
                id: "scannersReporting", title: "Secret scanners reporting in",
                // A scanner identity that has not run in the look-back counts half: set up, not working.
                score: facts.lastScannerActivity != nil ? 1 : (facts.scannerPrincipals.isEmpty ? 0 : 0.5),
                evidence: facts.lastScannerActivity.map { "a scanner last reported or signed in on \($0.formatted(.iso8601))" }
                    ?? (facts.scannerPrincipals.isEmpty
                        ? "no principal but the administrators may report leaks, and no scanner reported in the last 30 days"
                        : "\(Self.list(facts.scannerPrincipals)) may report leaks but none reported or signed in during the last 30 days"),
                fix: facts.lastScannerActivity != nil ? ""
                    : facts.scannerPrincipals.isEmpty
                    ? "sigil role assign 'Security Operator' --to CI-SCANNER-APP, then run sigil scan --report in CI and sigil scan hook install in repositories"
                    : "run sigil scan --report in CI as \(Self.list(Array(facts.scannerPrincipals.prefix(1)))), and sigil scan hook install in repositories"),
            PostureItem(
                id: "rotatorsLeastPrivilege", title: "Credential rotators with least privilege",
                score: facts.tenantWideRotators.isEmpty ? 1 : 0,
                evidence: facts.tenantWideRotators.isEmpty
                    ? "every Credential Rotator assignment is scoped to one application"
                    : "Credential Rotator over the whole tenant: \(Self.list(facts.tenantWideRotators))",
                fix: facts.tenantWideRotators.first.map {
                    "sigil role unassign 'Credential Rotator' --from '\($0)', then sigil role assign 'Credential Rotator' --to '\($0)' --app APP"
                } ?? ""),
            PostureItem(
                id: "alertsConfigured", title: "Alerts configured",
                score: facts.alertSubscriptions > 0 ? 1 : 0,
                evidence: facts.alertSubscriptions > 0 ? "\(facts.alertSubscriptions) alert subscriptions" : "no alert webhook is registered",
                fix: facts.alertSubscriptions > 0 ? "" : "sigil alert add --url https://RECEIVER"),
        ]
    }

    static func list(_ names: [String]) -> String {
        let shown = names.prefix(named).map { "'\($0)'" }.joined(separator: ", ")
        return names.count > named ? "\(shown) and \(names.count - named) more" : shown
    }
}
