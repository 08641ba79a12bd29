import ArgumentParser
import SigilAgentCommand

/// `sigil-agent enroll|run|env`: the same commands as `sigil agent …`, in an executable that
/// holds only the agent. A host runs it for years, so it carries none of the server, the store or
/// the scanner: less code mapped, less memory (BENCHMARKS.md compares the two).
@main
struct SigilAgentMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sigil-agent", abstract: Agent.configuration.abstract, subcommands: Agent.configuration.subcommands)
}
