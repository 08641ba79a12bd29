import Foundation
import Testing

@testable import SigilCore

/// The pure parts of triage and migration: usage summaries, stages, shares, proposals, and when
/// a migration may finish.
@Suite struct TriageTests {
    static let day = 86_400.0
    static let noon = Date(timeIntervalSince1970: 20_000 * 86_400 + 43_200)

    static func signIn(
        _ app: String, _ type: CredentialType?, _ id: String?, at time: Date = noon, ip: String = "10.1.2.3", agent: String? = "svc/1.0",
        succeeded: Bool = true
    ) -> SignInEvent {
        SignInEvent(
            id: UUID().uuidString, time: time, tenantId: "t", appId: app, appDisplayName: app, servicePrincipalId: "sp-" + app,
            credentialType: type, credentialId: id, ipAddress: ip, userAgent: agent, resource: nil, resourceId: nil, succeeded: succeeded,
            errorCode: nil, failureReason: nil, correlationId: "c")
    }

    @Test func aSummaryCountsOnlySuccessfulSignInsAndKeepsFirstAndLastUse() {
        let early = Self.noon.addingTimeInterval(-3600)
        let summary = UsageSummary([
            Self.signIn("a", .clientSecret, "k1"), Self.signIn("a", .clientSecret, "k1", at: early, ip: "10.1.2.200"),
            Self.signIn("a", .clientSecret, "k1", succeeded: false), Self.signIn("a", .certificate, "THUMB", agent: nil),
            Self.signIn("b", nil, nil, succeeded: false),
        ])
        let secret = UsageSummary.Credential(appId: "a", type: .clientSecret, id: "k1")
        #expect(summary.credentials[secret] == UsageSummary.Use(tenantId: "t", first: early, last: Self.noon, signIns: 2))
        #expect(summary.credentials.count == 2)
        // Both addresses are one /24 network; the failed sign-in adds nothing.
        #expect(summary.sources[UsageSummary.Source(credential: secret, kind: .network, value: "10.1.2.0/24")]?.signIns == 2)
        #expect(summary.sources.keys.filter { $0.credential == secret }.count == 2)
        let today = UsageSummary.AppDay(tenantId: "t", day: UsageSummary.day(of: Self.noon), appId: "a")
        #expect(summary.days[today] == UsageSummary.DayCounts(secret: 2, secretless: 1))
        #expect(summary.days.count == 1)
    }

    @Test func aHostileUserAgentIsCutToItsBound() {
        let summary = UsageSummary([Self.signIn("a", .clientSecret, "k", agent: String(repeating: "x", count: 10_000))])
        #expect(summary.sources.keys.map(\.value.count).max() == UsageSummary.maximumUserAgentLength)
    }

    @Test func daysAreUTCMidnights() {
        let midnight = Date(timeIntervalSince1970: 20_000 * 86_400)
        #expect(UsageSummary.day(of: midnight) == midnight)
        #expect(UsageSummary.day(of: midnight.addingTimeInterval(86_399.999)) == midnight)
        #expect(UsageSummary.day(of: midnight.addingTimeInterval(-0.001)) == midnight.addingTimeInterval(-Self.day))
    }

    @Test func stagesFollowTheSignIns() {
        #expect(MigrationStage(secretSignIns: 3, secretlessSignIns: 0) == .secretOnly)
        #expect(MigrationStage(secretSignIns: 3, secretlessSignIns: 1) == .secretAndSecretless)
        #expect(MigrationStage(secretSignIns: 0, secretlessSignIns: 1) == .secretless)
        #expect(MigrationStage(secretSignIns: 0, secretlessSignIns: 0) == .unused)
    }

    @Test func aShareOfNothingIsNotZero() {
        let nothing = SecretlessShare.Figures(signIns: 0, secretlessSignIns: 0, apps: 0, secretlessApps: 0)
        #expect(nothing.signInShare == nil && nothing.appShare == nil)
        let some = SecretlessShare.Figures(signIns: 8, secretlessSignIns: 2, apps: 4, secretlessApps: 1)
        #expect(some.signInShare == 0.25 && some.appShare == 0.25)
        #expect(SecretlessShare.Counts(secret: 0, secretless: 3).stage == .secretless)
    }

    @Test func staleAndExpiringFollowTheWindows() {
        let now = Self.noon
        var item = InventoryItem(
            appId: "a", appDisplayName: "a", principalKind: .application, type: .clientSecret, keyId: "k", displayName: "k",
            created: now.addingTimeInterval(-40 * Self.day), expires: now.addingTimeInterval(20 * Self.day), state: .enabled)
        #expect(item.isStale(now: now, unusedFor: 30 * Self.day), "never used since its creation 40 days ago")
        item.lastUsed = now.addingTimeInterval(-Self.day)
        #expect(!item.isStale(now: now, unusedFor: 30 * Self.day))
        #expect(item.isExpiring(now: now, within: 30 * Self.day) && !item.isExpiring(now: now, within: 10 * Self.day))
        item.state = .revoked
        #expect(!item.isExpiring(now: now, within: 30 * Self.day) && !item.isStale(now: now, unusedFor: 0))
    }

    static let app = ReportedApp(appId: "11111111-2222-3333-4444-555555555555", displayName: "Billing API", kind: .application)

    static func propose(networks: [String] = ["10.1.2.0/24"], agents: [String] = ["python-requests/2.32"],
                        hosts: [MigrationProposal.HostSighting] = [], federated: [MigrationProposal.FederatedSighting] = []) -> MigrationProposal {
        MigrationProposal.propose(
            app: app, networks: networks, userAgents: agents, hosts: hosts, federated: federated, authorityHost: "https://sigil.test", tenantId: "t")
    }

    @Test func aSecretUsedWhereAnAgentRunsBecomesAManagedIdentity() {
        let proposal = Self.propose(
            hosts: [.init(network: "10.9.9.0/24", hostId: "h0", hostName: "other"), .init(network: "10.1.2.0/24", hostId: "h1", hostName: "web-1")])
        #expect(proposal.kind == .managedIdentity && proposal.hostId == "h1" && proposal.hostName == "web-1")
        #expect(proposal.evidence.first?.contains("web-1") == true)
    }

    @Test func aSecretUsedWhereFederatedTokensArePresentedBecomesAFederatedCredentialWithTheSubject() {
        let proposal = Self.propose(federated: [.init(
            network: "10.1.2.0/24", issuer: "https://token.actions.githubusercontent.com", subject: "repo:contoso/billing:ref:refs/heads/main",
            appDisplayName: "deployer")])
        #expect(proposal.kind == .federatedCredential && proposal.subjectKnown)
        #expect(proposal.subject == "repo:contoso/billing:ref:refs/heads/main" && proposal.issuer == "https://token.actions.githubusercontent.com")
    }

    @Test(arguments: [
        ("my-deployer GitHub-Actions/2.317 azsdk-python-identity", "https://token.actions.githubusercontent.com"),
        ("gitlab-runner 16.11.0 (main; go1.21)", "https://gitlab.com"),
        ("Buildkite-Agent/3.70", "https://agent.buildkite.com"),
    ])
    func aCISystemKnownByItsUserAgentGetsATemplate(agent: String, issuer: String) {
        let proposal = Self.propose(agents: ["curl/8", agent])
        #expect(proposal.kind == .federatedCredential && proposal.issuer == issuer && !proposal.subjectKnown)
        #expect(proposal.subject?.contains("<") == true, "the parts the evidence does not show are placeholders")
    }

    @Test func anythingElseBecomesACertificateWithItsSnippets() {
        let proposal = Self.propose(hosts: [.init(network: "10.9.9.0/24", hostId: "h0", hostName: "other")])
        #expect(proposal.kind == .certificate)
        #expect(proposal.snippets["openssl"]?.contains("openssl req -x509") == true)
        #expect(proposal.snippets["openssl"]?.contains("billingapi.key") == true, "file names from the app's name, shell-safe")
        #expect(proposal.snippets["python"]?.contains(Self.app.appId) == true)
        #expect(proposal.snippets["msal"]?.contains("https://sigil.test/t") == true)
    }

    static func migration(_ state: AppMigration.State) -> AppMigration {
        AppMigration(
            id: "m", tenantId: "t", applicationId: "o", appId: "a", state: state,
            replacement: .init(kind: .certificate, appId: "a", credentialType: .certificate, credentialId: "T", displayName: "cert"),
            secretKeyIds: ["k"], appliedAt: noon.addingTimeInterval(-10 * day))
    }

    @Test func finishWaitsForTheSoakAndAWorkingReplacement() {
        let now = Self.noon
        let soak = 7 * Self.day
        let applied = Self.migration(.applied)
        let working = now.addingTimeInterval(-60)
        #expect(applied.finishBlocker(secretsLastUsed: now.addingTimeInterval(-Self.day), replacementLastUsed: working, now: now, soak: soak)?
            .contains("less than the soak period") == true)
        #expect(applied.finishBlocker(secretsLastUsed: now.addingTimeInterval(-8 * Self.day), replacementLastUsed: nil, now: now, soak: soak)?
            .contains("no successful sign-in") == true)
        #expect(applied.finishBlocker(secretsLastUsed: now.addingTimeInterval(-8 * Self.day), replacementLastUsed: working, now: now, soak: soak) == nil)
        #expect(applied.finishBlocker(secretsLastUsed: nil, replacementLastUsed: working, now: now, soak: soak) == nil)
        #expect(Self.migration(.rolledBack).finishBlocker(secretsLastUsed: nil, replacementLastUsed: working, now: now, soak: soak) == nil)
        #expect(Self.migration(.finished).finishBlocker(secretsLastUsed: nil, replacementLastUsed: working, now: now, soak: soak)?
            .contains("already finished") == true)
        #expect(Self.migration(.deleted).finishBlocker(secretsLastUsed: nil, replacementLastUsed: working, now: now, soak: soak) != nil)
    }
}

/// The security assessment's scoring: each item weighs the same, evidence names what is wrong,
/// and only what is wrong carries a fix.
@Suite struct PostureAssessmentTests {
    static func facts(
        applications: Int = 4, withSecrets: [String] = [], rotating: [String] = [], blocks: Bool = true, covering: [String] = ["all"],
        scanners: [String] = ["ci"], activity: Date? = Date(timeIntervalSince1970: 1_800_000_000), rotators: [String] = [], alerts: Int = 1
    ) -> PostureFacts {
        PostureFacts(
            applications: applications, applicationsWithSecrets: withSecrets, applicationsRotating: rotating, defaultPolicyBlocksSecrets: blocks,
            policiesCoveringAll: covering, scannerPrincipals: scanners, lastScannerActivity: activity, tenantWideRotators: rotators,
            alertSubscriptions: alerts)
    }

    @Test func aTenantThatMeetsEveryItemScoresAHundredAndNeedsNoFix() {
        let assessment = PostureAssessment(Self.facts())
        #expect(assessment.score == 100 && assessment.items.count == 7)
        #expect(assessment.items.allSatisfy { $0.passed && $0.fix.isEmpty })
    }

    @Test func aTenantThatMeetsNoneScoresZeroAndEachItemSaysWhatToRun() {
        let assessment = PostureAssessment(Self.facts(
            applications: 2, withSecrets: ["billing", "ledger"], blocks: false, covering: [], scanners: [], activity: nil, rotators: ["deployer"], alerts: 0))
        #expect(assessment.score == 0)
        #expect(assessment.items.allSatisfy { !$0.passed && $0.fix.hasPrefix("sigil ") })
        let rotators = assessment.items.first { $0.id == "rotatorsLeastPrivilege" }
        #expect(rotators?.evidence.contains("'deployer'") == true && rotators?.fix.contains("--app") == true)
        #expect(assessment.items.first { $0.id == "appsWithoutSecrets" }?.fix == "sigil migrate plan 'billing'")
    }

    @Test func partialItemsCountInProportion() {
        let assessment = PostureAssessment(Self.facts(withSecrets: ["a", "b"], rotating: ["a"]))
        #expect(assessment.items.first { $0.id == "appsWithoutSecrets" }?.score == 0.5)
        #expect(assessment.items.first { $0.id == "remainingSecretsRotating" }?.score == 0.5)
        #expect(assessment.score == Int((6.0 / 7.0 * 100).rounded()))
        let many = PostureAssessment(Self.facts(applications: 9, withSecrets: (1...8).map { "app\($0)" }))
        #expect(many.items[0].evidence.hasSuffix("and 3 more"), "evidence names five and counts the rest")
    }

    @Test func aScannerCountsOnlyOnceItHasReportedOrSignedIn() {
        let reported = PostureAssessment(Self.facts(scanners: []))
        #expect(reported.items.first { $0.id == "scannersReporting" }?.passed == true, "a leak report by an administrator counts")
        let silent = try? #require(PostureAssessment(Self.facts(scanners: ["ci-scan"], activity: nil)).items.first { $0.id == "scannersReporting" })
        #expect(silent?.score == 0.5 && silent?.evidence.contains("'ci-scan'") == true && silent?.fix.contains("as 'ci-scan'") == true, "\(String(describing: silent))")
    }
}
