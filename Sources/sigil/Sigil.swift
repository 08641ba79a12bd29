import ArgumentParser
import SigilCLI

/// The `sigil` executable. Its commands live in SigilCLI; `@main` here lets ArgumentParser's own
/// async entry point dispatch them.
@main
struct Sigil: AsyncParsableCommand {
    static let configuration = SigilCommand.configuration
}
