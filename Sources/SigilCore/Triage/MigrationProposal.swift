import Foundation

/// What `sigil migrate plan` proposes to replace one client secret with, and the sign-in evidence
/// it rests on (DESIGN §8): a managed identity where the secret is used from a network where a
/// host's agent signs in; a federated credential where it is used from a network where tokens of
/// an external issuer are already presented, or by a CI system its user agent names; a
/// certificate otherwise.
public struct MigrationProposal: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case managedIdentity, federatedCredential, certificate
    }

    public var kind: Kind
    /// One sentence per fact the proposal rests on.
    public var evidence: [String]
    /// Managed identity: the host whose agent would hand it out.
    public var hostId: String?
    public var hostName: String?
    /// Federated credential: the issuer and the subject (a template with `<PLACEHOLDERS>` when the
    /// evidence does not show it; `subjectKnown` says which).
    public var issuer: String?
    public var subject: String?
    public var subjectKnown = false
    /// Certificate: the commands that make the key pair on the workload's machine and register
    /// the certificate, and the client-library code that uses it.
    public var snippets: [String: String] = [:]

    /// A host's agent seen signing in from a network.
    public struct HostSighting: Sendable, Equatable {
        public var network: String
        public var hostId: String
        public var hostName: String

        public init(network: String, hostId: String, hostName: String) {
            self.network = network
            self.hostId = hostId
            self.hostName = hostName
        }
    }

    /// A federated credential seen in use from a network.
    public struct FederatedSighting: Sendable, Equatable {
        public var network: String
        public var issuer: String
        public var subject: String?
        public var appDisplayName: String

        public init(network: String, issuer: String, subject: String?, appDisplayName: String) {
            self.network = network
            self.issuer = issuer
            self.subject = subject
            self.appDisplayName = appDisplayName
        }
    }

    /// A CI system recognised by a word in its user agent: its OIDC issuer and subject format.
    public struct CISystem: Sendable, Equatable {
        public var name: String
        public var markers: [String]
        public var issuer: String
        public var subjectTemplate: String
    }

    public static let ciSystems: [CISystem] = [
        CISystem(
            name: "GitHub Actions", markers: ["github-actions", "githubactions", "github actions"],
            issuer: "https://token.actions.githubusercontent.com", subjectTemplate: "repo:<OWNER>/<REPO>:ref:refs/heads/<BRANCH>"),
        CISystem(
            name: "GitLab CI", markers: ["gitlab-ci", "gitlab-runner", "gitlab ci"],
            issuer: "https://gitlab.com", subjectTemplate: "project_path:<GROUP>/<PROJECT>:ref_type:branch:ref:<BRANCH>"),
        CISystem(
            name: "Buildkite", markers: ["buildkite"],
            issuer: "https://agent.buildkite.com", subjectTemplate: "organization:<ORG>:pipeline:<PIPELINE>:ref:refs/heads/<BRANCH>:commit:<COMMIT>:step:<STEP>"),
        CISystem(
            name: "CircleCI", markers: ["circleci"],
            issuer: "https://oidc.circleci.com/org/<ORG_ID>", subjectTemplate: "org/<ORG_ID>/project/<PROJECT_ID>/user/<USER_ID>"),
    ]

    /// The proposal for a secret used from `networks` by `userAgents`, given where hosts' agents
    /// and federated credentials were seen signing in.
    public static func propose(
        app: ReportedApp, networks: [String], userAgents: [String], hosts: [HostSighting], federated: [FederatedSighting],
        authorityHost: String, tenantId: String
    ) -> MigrationProposal {
        if let host = hosts.first(where: { networks.contains($0.network) }) {
            var proposal = MigrationProposal(kind: .managedIdentity, evidence: [
                "the secret is used from \(host.network), where the agent of host '\(host.hostName)' signs in with its managed identity",
            ])
            proposal.hostId = host.hostId
            proposal.hostName = host.hostName
            return proposal
        }
        if let seen = federated.first(where: { networks.contains($0.network) }) {
            var proposal = MigrationProposal(kind: .federatedCredential, evidence: [
                "the secret is used from \(seen.network), where '\(seen.appDisplayName)' signs in with tokens of \(seen.issuer)"
                    + (seen.subject.map { " for subject '\($0)'" } ?? ""),
            ])
            proposal.issuer = seen.issuer
            proposal.subject = seen.subject
            proposal.subjectKnown = seen.subject != nil
            return proposal
        }
        for agent in userAgents {
            let lowered = agent.lowercased()
            guard let ci = ciSystems.first(where: { system in system.markers.contains { lowered.contains($0) } }) else { continue }
            var proposal = MigrationProposal(kind: .federatedCredential, evidence: [
                "the secret is used by \(ci.name) (user agent '\(agent)'), which gives each job an OIDC token from \(ci.issuer)",
            ])
            proposal.issuer = ci.issuer
            proposal.subject = ci.subjectTemplate
            return proposal
        }
        var proposal = MigrationProposal(kind: .certificate, evidence: [
            networks.isEmpty
                ? "no host agent or federated issuer was seen where the secret is used"
                : "the secret is used from \(networks.joined(separator: ", ")), where no host agent or federated issuer signs in",
        ])
        let file = app.displayName.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "-" }
        let name = file.isEmpty ? "app" : file
        proposal.snippets = [
            "openssl": """
                openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \\
                  -subj "/CN=\(name)" -keyout \(name).key -out \(name).crt
                cat \(name).key \(name).crt > \(name).pem   # stays on the workload's machine
                sigil migrate apply '\(app.displayName)' --cert \(name).crt
                """,
            "python": """
                from azure.identity import CertificateCredential
                credential = CertificateCredential("\(tenantId)", "\(app.appId)", "\(name).pem",
                                                   authority="\(authorityHost)")
                """,
            "msal": """
                import msal
                app = msal.ConfidentialClientApplication("\(app.appId)", authority="\(authorityHost)/\(tenantId)",
                    client_credential={"private_key": open("\(name).key").read(), "thumbprint": "<SHA-1 of \(name).crt>"})
                """,
        ]
        return proposal
    }
}
