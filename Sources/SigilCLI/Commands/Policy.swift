import ArgumentParser

/// `sigil policy …`: the tenant's governance policies.
struct Policy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Governance policies: app management (which credentials apps may add) and Conditional Access for workload identities.",
        subcommands: [PolicyApp.self, PolicyCA.self])
}
