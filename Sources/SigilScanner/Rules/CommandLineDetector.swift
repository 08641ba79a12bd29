/// Passwords passed to a command by a short option that only some tools read as a password:
/// `sshpass -p …`, `mysql -p…` (attached), `docker login -p …`, `redis-cli -a …`, `mongosh -p …`,
/// `sqlcmd -P …`, `twine upload -p …`, `ldapsearch -w …`, `curl -u user:…`, `openssl … -passin
/// pass:…`, and `echo … | docker login --password-stdin`. The command is read up to the end of its
/// line (and of lines continued with `\`), also as a JSON or YAML array (`["mysqladmin", "-p…"]`).
/// Outside code an argument is a literal word, as the shell reads it: only `$…` and `%…%` refer to
/// something else (`Lantern.indigo.294` is no member chain there). Long options (`--password …`)
/// are names, read by `AssignmentDetector`.
public struct CommandLineDetector: Detector {
    /// A tool, the option whose argument is its password, and whether that argument must be
    /// attached (`-pSECRET`: for mysql, `-p SECRET` prompts and names a database).
    struct Tool {
        let name: String
        let option: String
        let attachedOnly: Bool
    }

    static let tools: [Tool] = [
        ("sshpass", "-p", false), ("mysql", "-p", true), ("mariadb", "-p", true), ("docker", "-p", false),
        ("podman", "-p", false), ("buildah", "-p", false), ("skopeo", "-p", false), ("helm", "-p", false),
        ("redis-cli", "-a", false), ("mongo", "-p", false), ("sqlcmd", "-P", false), ("bcp", "-P", false),
        ("curl", "-u", false), ("az", "-p", false), ("twine", "-p", false), ("ldapsearch", "-w", false),
        ("ldapmodify", "-w", false), ("ldapadd", "-w", false), ("ldapdelete", "-w", false), ("ldappasswd", "-w", false),
        ("ldapwhoami", "-w", false),
    ].map { Tool(name: $0.0, option: $0.1, attachedOnly: $0.2) }

    /// Subcommands a registry tool's `-p` needs before it is a password (`docker run -p` is a port).
    static let loginTools: Set<String> = ["docker", "podman", "buildah", "skopeo", "helm", "az"]

    /// The options looked at, each after a blank or an opening quote; the tool is found before
    /// them on the command (a tool's name is a common word, its password option is not).
    static let options = ["-p", "-P", "-a", "-u", "-w", "--user"]

    public var keywords: [Keyword] {
        Self.options.flatMap { option in [" ", "\t", "\"", "'"].map { Keyword($0 + option) } }
            + [Keyword("pass:"), Keyword("--password-stdin")]
    }

    /// The most lines a command continued with `\` is read over.
    static let continuationLines = 8

    public init() {}

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        if keyword.count == 5, text[keyword.lowerBound] == UInt8(ascii: "p") {
            detectOpenSSLPass(in: text, at: keyword, into: &detections)
            return
        }
        if keyword.count == 16 {
            detectPasswordStdin(in: text, at: keyword, into: &detections)
            return
        }
        let optionStart = keyword.lowerBound + 1
        guard let (tool, toolEnd) = Self.tool(before: optionStart, in: text) else { return }
        let arguments = Self.arguments(in: text, from: toolEnd)
        guard let index = arguments.firstIndex(where: { $0.range.lowerBound == optionStart }) else { return }
        if Self.loginTools.contains(tool.name) {
            guard arguments[..<index].contains(where: { text.string($0.range) == "login" }) else { return }
        }
        let argument = arguments[index]
        var string = text.string(argument.range)
        // curl's long form, `--user user:password` / `--user=user:password`.
        if tool.name == "curl", string == "--user" { string = "-u" }
        if tool.name == "curl", string.hasPrefix("--user="), argument.range.count > 7 {
            let range = (argument.range.lowerBound + 7)..<argument.range.upperBound
            if let colon = text.find(":", in: range, ignoringCase: false), colon + 1 < range.upperBound {
                report((colon + 1)..<range.upperBound, quoted: argument.quoted, in: text, into: &detections)
            }
            return
        }
        guard string.hasPrefix(tool.option) else { return }
        var value: (range: Range<Int>, quoted: Bool)
        if string == tool.option {
            guard index + 1 < arguments.count, !tool.attachedOnly || arguments[index + 1].attached else { return }
            value = (arguments[index + 1].range, arguments[index + 1].quoted)
        } else {
            // `-pSECRET`; a longer option (`-port`) is not this one.
            guard tool.attachedOnly || tool.name == "sshpass" || tool.name == "curl" else { return }
            value = ((argument.range.lowerBound + tool.option.utf8.count)..<argument.range.upperBound, argument.quoted)
            guard !value.range.isEmpty else { return }
        }
        if tool.name == "curl" {
            // `-u user:password`; without a colon curl asks for the password.
            guard let colon = text.find(":", in: value.range, ignoringCase: false), colon + 1 < value.range.upperBound else { return }
            value = ((colon + 1)..<value.range.upperBound, value.quoted)
        }
        report(value.range, quoted: value.quoted, in: text, into: &detections)
    }

    /// The last tool named as a word on the command before `position` (its line, and the lines
    /// before it that end in `\`), and where its name ends.
    static func tool(before position: Int, in text: ScanText) -> (Tool, Int)? {
        var start = text.lineStart(before: position)
        var lines = 0
        while start >= 2, lines < continuationLines {
            var end = start - 1
            if text.at(end - 1) == UInt8(ascii: "\r") { end -= 1 }
            guard text.at(end - 1) == UInt8(ascii: "\\") else { break }
            start = text.lineStart(before: end - 1)
            lines += 1
        }
        var best: (Tool, Int, Int)?
        for tool in tools {
            var from = start
            while from < position, let found = text.find(tool.name, in: from..<position, ignoringCase: false) {
                from = found + 1
                let before = text.at(found - 1)
                guard found == 0 || ASCII.isBlank(before) || "\n\"'[/(`;|&".utf8.contains(before) else { continue }
                var end = found + tool.name.utf8.count
                // `mysqldump`, `mysqladmin`, `mongosh`, `mariadb-dump`: the family shares the option.
                while ASCII.isAlphanumeric(text.at(end)) || text.at(end) == UInt8(ascii: "-") { end += 1 }
                let after = text.at(end)
                guard ASCII.isBlank(after) || "\"',".utf8.contains(after) else { continue }
                // `"mysqladmin"`: the arguments start after the closing quote.
                if after == UInt8(ascii: "\"") || after == UInt8(ascii: "'") { end += 1 }
                if best == nil || found > best!.1 { best = (tool, found, end) }
            }
        }
        return best.map { ($0.0, $0.2) }
    }

    private func report(_ range: Range<Int>, quoted: Bool, in text: ScanText, into detections: inout [Detection]) {
        let value = text.string(range)
        // In configuration and scripts an unquoted argument is a literal word; in code it may be
        // an expression (`["sshpass", "-p", self.pw]`).
        guard ValueJudgement.isPlausiblePassword(value, quoted: quoted || text.isConfiguration(at: range.lowerBound)) else { return }
        detections.append(Detection(rule: BuiltinRules.genericPassword, secret: range))
    }

    /// `-passin pass:…`, `-passout pass:…`, `-password pass:…` (OpenSSL's password arguments).
    private func detectOpenSSLPass(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        var cursor = keyword.lowerBound
        if text.at(cursor - 1) == UInt8(ascii: "\"") || text.at(cursor - 1) == UInt8(ascii: "'") { cursor -= 1 }
        guard ASCII.isBlank(text.at(cursor - 1)) || text.at(cursor - 1) == UInt8(ascii: ",") else { return }
        let lineStart = text.lineStart(before: keyword.lowerBound)
        let lead = text.string(max(lineStart, keyword.lowerBound - 16)..<keyword.lowerBound)
        guard lead.contains("-passin") || lead.contains("-passout") || lead.contains("-password") || lead.contains("-pass ") else { return }
        let arguments = Self.arguments(in: text, from: keyword.lowerBound - (cursor < keyword.lowerBound ? 1 : 0))
        guard let first = arguments.first, first.range.lowerBound == keyword.lowerBound else { return }
        let range = keyword.upperBound..<first.range.upperBound
        guard !range.isEmpty else { return }
        report(range, quoted: first.quoted, in: text, into: &detections)
    }

    /// `echo "…" | docker login --password-stdin`: the echoed value.
    private func detectPasswordStdin(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        let lineStart = text.lineStart(before: keyword.lowerBound)
        guard let pipe = (lineStart..<keyword.lowerBound).reversed().first(where: { text[$0] == UInt8(ascii: "|") }),
              let echo = text.find("echo ", in: lineStart..<pipe, ignoringCase: false)
        else { return }
        let arguments = Self.arguments(in: text, from: echo + 4).filter { $0.range.upperBound <= pipe }
        // `echo -n "…"`: the last argument before the pipe.
        guard let value = arguments.last(where: { !text.string($0.range).hasPrefix("-") }) else { return }
        report(value.range, quoted: value.quoted, in: text, into: &detections)
    }

    /// The arguments after `start` up to the end of the command: the line (continued by a `\` at
    /// its end), a `|`, `;`, `&&`, `#` or the end of an array. Quotes are taken off.
    static func arguments(in text: ScanText, from start: Int) -> [(range: Range<Int>, quoted: Bool, attached: Bool)] {
        var arguments: [(range: Range<Int>, quoted: Bool, attached: Bool)] = []
        var position = start
        var lines = 0
        let limit = min(text.count, start + 4096)
        while position < limit, arguments.count < 64 {
            let byte = text[position]
            if ASCII.isBlank(byte) || byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\r") {
                position += 1
                continue
            }
            if byte == UInt8(ascii: "\\"), text.at(position + 1) == UInt8(ascii: "\n") || text.at(position + 1) == UInt8(ascii: "\r") {
                lines += 1
                guard lines <= continuationLines else { break }
                position += text.at(position + 1) == UInt8(ascii: "\r") ? 3 : 2
                continue
            }
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "|") || byte == UInt8(ascii: ";") || byte == UInt8(ascii: "&")
                || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "#") || byte == UInt8(ascii: ")") {
                break
            }
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                var end = position + 1
                while end < limit, text[end] != byte, text[end] != UInt8(ascii: "\n") { end += text[end] == UInt8(ascii: "\\") && byte == UInt8(ascii: "\"") ? 2 : 1 }
                guard text.at(end) == byte else { break }
                arguments.append(((position + 1)..<end, true, false))
                position = end + 1
                continue
            }
            var end = position
            while end < limit, !ASCII.isBlank(text[end]), !"\n\r,|;&]\"'".utf8.contains(text[end]) { end += 1 }
            // `-p"…"`: an option with a quoted value attached.
            if end < limit, text[end] == UInt8(ascii: "\"") || text[end] == UInt8(ascii: "'"), end > position {
                let quote = text[end]
                var close = end + 1
                while close < limit, text[close] != quote, text[close] != UInt8(ascii: "\n") { close += 1 }
                if text.at(close) == quote {
                    arguments.append((position..<end, false, false))
                    arguments.append(((end + 1)..<close, true, true))
                    position = close + 1
                    continue
                }
            }
            arguments.append((position..<end, false, false))
            position = end
        }
        return arguments
    }
}
