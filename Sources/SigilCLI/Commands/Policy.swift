import ArgumentParser

/// `sigil policy …`: the tenant's governance policies.
struct Policy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Governance policies: Conditional Access for workload identities.", subcommands: [PolicyCA.self])
}
