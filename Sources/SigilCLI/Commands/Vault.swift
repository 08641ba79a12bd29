import ArgumentParser

/// `sigil vault …`: vaults and their secrets.
struct Vault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Vaults: secrets that cannot go yet, kept sealed.", subcommands: [VaultEvents.self])
}
