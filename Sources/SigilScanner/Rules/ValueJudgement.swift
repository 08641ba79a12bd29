import Foundation

/// Judges whether a value found next to a credential-looking name is a credential, or a
/// placeholder, a reference, a hash or a word. These judgements are what keep a secret scanner's
/// precision up on real code; each one is a documented "not a secret" in docs/scanner-rules.md.
public enum ValueJudgement {
    /// Values published in vendors' documentation; they are never real credentials.
    static let knownExamples: Set<String> = [
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AKIAI44QH8DHBEXAMPLE",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "pk_test_TYooMQauvdEDq54NiTphI7jx", "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "xoxb-not-a-real-token-this-will-not-work", "SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ]

    /// Fragments that mark a value as a stand-in for a credential, lowercase.
    static let placeholderFragments: [String] = [
        "example", "xxxx", "****", "....", "placeholder", "changeme", "change_me", "change-me",
        "changeit", "your_", "your-", "yourpass", "yoursecret", "yourtoken", "yourkey", "yourapi",
        "<your", "<insert", "<replace", "${", "{{", "}}", "\\(", "#{", "%(", "%s", "$(", "dummy", "fake", "sample", "redacted",
        "replace", "insert", "foobar", "lorem", "todo", "fixme", "_here", "-here", "not-a-real",
        "notreal", "not_real", "secretsmanager", "keyvault", "vault:", "env:", "ssm:", "deadbeef", "cafebabe",
    ]

    /// Whole values that are words, not secrets, lowercase.
    static let stopWords: Set<String> = [
        "password", "passwd", "pass", "secret", "token", "admin", "root", "test", "guest", "user",
        "default", "none", "null", "nil", "true", "false", "empty", "string", "undefined", "qwerty",
        "letmein", "123456", "12345678", "123456789", "password1", "secret123", "bearer", "basic",
        "required", "optional", "hidden", "masked", "unset", "changeme", "postgres", "mysql", "redis",
        // The example passwords of tutorials and documentation.
        "p@ssw0rd", "p@ssword", "passw0rd", "pa$$w0rd", "pa$$word", "p4ssw0rd", "p4$$w0rd", "p@ssw0rd!", "p@ssw0rd1",
        "passw0rd!", "passw0rd1", "hunter2", "welcome1", "welcome123", "letmein123", "s3cr3t", "s3cret", "sup3rs3cr3t",
        "admin123", "password!", "password123!",
    ]

    public static func isKnownExampleOrPlaceholder(_ value: String) -> Bool {
        if knownExamples.contains(value) { return true }
        if value.hasPrefix("<") && value.hasSuffix(">") { return true }
        // `@db.password@`, `@@smtp_password@@`: Maven's, Ant's and templates' filter tokens.
        if value.utf8.count > 2, value.hasPrefix("@"), value.hasSuffix("@") { return true }
        let lower = value.lowercased()
        if placeholderFragments.contains(where: lower.contains) { return true }
        return hasLongRun(lower) || isSequence(lower)
    }

    /// A character repeated six times in a row (`aaaaaa`, `000000`).
    static func hasLongRun(_ value: String) -> Bool {
        var previous: UInt8 = 0
        var run = 0
        for byte in value.utf8 {
            run = byte == previous ? run + 1 : 1
            previous = byte
            if run >= 6 { return true }
        }
        return false
    }

    /// `123456789…`, `abcdefgh…`, `987654…` (six or more in a row, anywhere in the value, case
    /// ignored) and interleaved runs such as `a1b2c3d4` or `1a2b3C4d`: the fillers of example
    /// values. In random text of 62 characters a run of six has odds of about one in a billion
    /// per position.
    static func isSequence(_ value: String) -> Bool {
        let bytes = value.utf8.map(ASCII.lowercase)
        guard bytes.count >= 6 else { return false }
        var ascending = 1
        var descending = 1
        // Runs of four in order (`abcd1234…`): two of them are a filler too.
        var runsOfFour = 0
        for index in 1..<bytes.count {
            ascending = bytes[index] == bytes[index - 1] &+ 1 && ASCII.isAlphanumeric(bytes[index]) ? ascending + 1 : 1
            descending = bytes[index] &+ 1 == bytes[index - 1] && ASCII.isAlphanumeric(bytes[index]) ? descending + 1 : 1
            if ascending >= 6 || descending >= 6 { return true }
            if ascending == 4 || descending == 4 { runsOfFour += 1 }
            if runsOfFour >= 2 { return true }
        }
        // Interleaved: two ascending runs sharing eight positions, one of letters and one of digits.
        if bytes.count >= 8 {
            for start in 0...(bytes.count - 8) {
                var interleaved = true
                for offset in stride(from: start + 2, to: start + 8, by: 1) where bytes[offset] != bytes[offset - 2] &+ 1 {
                    interleaved = false
                    break
                }
                if interleaved, isLetter(bytes[start]) != isLetter(bytes[start + 1]),
                   ASCII.isAlphanumeric(bytes[start]), ASCII.isAlphanumeric(bytes[start + 1]) {
                    return true
                }
            }
        }
        return false
    }

    @inline(__always) static func isLetter(_ byte: UInt8) -> Bool { (97...122).contains(byte) }

    /// Stems of made-up values inside a token of a known format (`sk_live_abc123…`,
    /// `xoxb-…-xyz…`). Only token formats use these: a password may well end in `xyz`.
    /// `abc123` and its kin are matched ignoring case, `xyz` as written (`xyz` or `XYZ`), which
    /// random text spells about once in 240,000 positions.
    static let tokenFillerStems = ["abc123", "123abc", "xyz123"]

    /// Whether a token of a known format is an example: a placeholder, or a real shape filled
    /// with a made-up stem.
    public static func isExampleToken(_ value: String) -> Bool {
        if isKnownExampleOrPlaceholder(value) { return true }
        if value.contains("xyz") || value.contains("XYZ") { return true }
        let lower = value.lowercased()
        return tokenFillerStems.contains(where: lower.contains)
    }

    /// Shannon entropy in bits per character.
    public static func entropy(_ value: String) -> Double {
        var counts = [Int](repeating: 0, count: 256)
        var total = 0
        for byte in value.utf8 {
            counts[Int(byte)] += 1
            total += 1
        }
        guard total > 0 else { return 0 }
        var result = 0.0
        for count in counts where count > 0 {
            let p = Double(count) / Double(total)
            result -= p * log2(p)
        }
        return result
    }

    /// How many of lowercase, uppercase, digits and symbols the value uses.
    static func characterClasses(_ value: String) -> Int {
        var lower = false, upper = false, digit = false, symbol = false
        for byte in value.utf8 {
            switch byte {
            case 97...122: lower = true
            case 65...90: upper = true
            case 48...57: digit = true
            default: symbol = true
            }
        }
        return [lower, upper, digit, symbol].filter { $0 }.count
    }

    static func isUUID(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                if byte != UInt8(ascii: "-") { return false }
            } else if !ByteSet.hex.contains(byte) {
                return false
            }
        }
        return true
    }

    /// Hex of an MD5, SHA-1, SHA-256 or SHA-512 length.
    static func isHexDigest(_ value: String) -> Bool {
        [32, 40, 64, 128].contains(value.utf8.count) && value.utf8.allSatisfy(ByteSet.hex.contains)
    }

    /// Something that refers to a value kept elsewhere, or code that computes one: environment
    /// lookups, template references, member chains and calls.
    static func isReference(_ value: String, quoted: Bool = false) -> Bool {
        guard let first = value.utf8.first else { return true }
        // `{api_key}`, `{self.token}`, `{vault}/db`: a template's field (f-strings, str.format,
        // Rust, C#).
        if hasTemplateField(value) { return true }
        // `[parameters('redisPrimaryKey')]`: an ARM template expression.
        if value.hasPrefix("["), value.hasSuffix("]"), value.contains("(") { return true }
        // Quoted, only `$X` and `%X%` refer to something; `(`, `.` and the rest are characters.
        if quoted { return first == UInt8(ascii: "$") || first == UInt8(ascii: "%") || value.contains("://") }
        // Unquoted, these start YAML anchors and tags, shell expansions, lists and maps.
        if "$%@&*!{[(<".utf8.contains(first) { return true }
        if value.contains("(") || value.contains("://") { return true }
        if value.hasPrefix("/") || value.hasPrefix("./") || value.hasPrefix("~/") || value.hasPrefix("../") { return true }
        // `settings.SECRET_KEY`, `var.db_password`, `ENV_NAME`: identifiers and member chains.
        let isIdentifierChain = value.utf8.allSatisfy { ASCII.isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
            && !(48...57).contains(first)
        if isIdentifierChain, value.contains("."), !isDottedPassword(value) { return true }
        if isIdentifierChain, value.utf8.allSatisfy({ !(97...122).contains($0) }), value.contains("_") { return true }
        return false
    }

    /// A dotted value that no member chain spells: it ends in `.` or has an empty part
    /// (`walnut4125Quartz.`), a part is a number (`Lantern.indigo.294`), a part holds four digits
    /// in a row (`Velvet.Falcon2742`; identifiers name standards with three at most, as `sha256`
    /// and `x509` do), or a part is a capitalised word and two or more digits (`Nectar.Marble998`).
    /// Passwords made of words, a number and a dot look like this.
    static func isDottedPassword(_ value: String) -> Bool {
        let parts = value.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for part in parts {
            if part.isEmpty || part.allSatisfy({ (48...57).contains($0) }) { return true }
            var digits = 0
            for byte in part {
                digits = (48...57).contains(byte) ? digits + 1 : 0
                if digits >= 4 { return true }
            }
            let letters = part.prefix { !(48...57).contains($0) }
            let trailing = part.dropFirst(letters.count)
            if letters.count >= 2, (65...90).contains(letters.first!), letters.dropFirst().allSatisfy({ (97...122).contains($0) }),
               trailing.count >= 2, trailing.allSatisfy({ (48...57).contains($0) }) {
                return true
            }
        }
        return false
    }

    /// Whether the value holds a template's field: `{` and an identifier, a member chain, a call
    /// or a subscript.
    static func hasTemplateField(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard let open = bytes.firstIndex(of: UInt8(ascii: "{")) else { return false }
        var index = open + 1
        guard index < bytes.count, (65...90).contains(bytes[index]) || (97...122).contains(bytes[index]) || bytes[index] == UInt8(ascii: "_") else { return false }
        while index < bytes.count, ASCII.isAlphanumeric(bytes[index]) || bytes[index] == UInt8(ascii: "_") || bytes[index] == UInt8(ascii: ".") {
            index += 1
        }
        // `{name}`, `{call(…`, `{items[…`, or a field cut off where the value was (`"{pick(rng, …"`).
        return index == bytes.count || "}([".utf8.contains(bytes[index])
    }

    /// Words joined by separators (`prod-db-password`, `should-not-be-issued`, `ApiKey_Name`): a
    /// name or a sentence, not a credential. Each part between separators is spelt as words are
    /// (`isWordPart`), so random letters with underscores (`NnM_TFxRaZ`) are not words.
    static func isWords(_ value: String) -> Bool {
        // Most values hold a digit or a symbol: no parts to spell then.
        guard value.utf8.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) || wordSeparators.contains($0) }) else { return false }
        var separators = 0
        var part: [UInt8] = []
        for byte in value.utf8 {
            if wordSeparators.contains(byte) {
                guard isWordPart(part) else { return false }
                separators += 1
                part.removeAll(keepingCapacity: true)
            } else {
                part.append(byte)
            }
        }
        return separators > 0 && separators < value.utf8.count && isWordPart(part)
    }

    /// What joins the words of a name or a sentence (`-` last: in a range string it is literal there).
    static let wordSeparators = ByteSet(ranges: "_. |:/,-")

    /// Letters spelt as a word or camel-case words are: all small, all capitals, or humps of a
    /// capital and two or more small letters (one at the start: `Id`), with acronyms of two or
    /// more capitals before a hump or at the end (`HTTPServer`, `userID`).
    static func isWordPart(_ part: [UInt8]) -> Bool {
        let isUpper = { (byte: UInt8) in (65...90).contains(byte) }
        if part.allSatisfy(isUpper) || !part.contains(where: isUpper) { return true }
        var index = 0
        while index < part.count, !isUpper(part[index]) { index += 1 }
        let startsWithCapital = index == 0
        while index < part.count {
            var capitals = 0
            while index < part.count, isUpper(part[index]) { capitals += 1; index += 1 }
            var small = 0
            while index < part.count, !isUpper(part[index]) { small += 1; index += 1 }
            if small == 0 { return capitals >= 2 }
            // The hump is the last capital and the small letters; capitals before it are an acronym.
            if capitals == 2 { return false }
            let atStart = startsWithCapital && index - small - capitals == 0 && capitals == 1
            if small < 2 && !atStart { return false }
        }
        return true
    }

    /// Fragments that make a value assigned to a credential name a stand-in (`testpassword123`,
    /// `access-token-123`, `newSecret`), lowercase. Only the generic rules use these: a random
    /// token of a known format may contain anything.
    static let standInFragments = ["password", "passwd", "secret", "token", "test", "12345", "abcdef", "qwerty", "abc123"]

    /// Stored password hashes: `md5` + hex (PostgreSQL), `{SHA}…`, `$2b$…` and kin.
    static func isPasswordHash(_ value: String) -> Bool {
        if value.hasPrefix("md5"), isHexDigest(String(value.dropFirst(3))) { return true }
        return value.hasPrefix("{SHA") || value.hasPrefix("{SSHA") || value.hasPrefix("$2") || value.hasPrefix("$argon2")
    }

    static func isStandIn(_ value: String) -> Bool {
        let lower = value.lowercased()
        return standInFragments.contains(where: lower.contains)
    }

    /// Whether a value assigned to a password-like name is a password.
    public static func isPlausiblePassword(_ value: String, quoted: Bool = false) -> Bool {
        let length = value.utf8.count
        guard length >= 6, length <= 128, !value.utf8.contains(where: { $0 <= 32 }) else { return false }
        let lower = value.lowercased()
        if stopWords.contains(lower) || isKnownExampleOrPlaceholder(value) || isReference(value, quoted: quoted) || isStandIn(value) { return false }
        // Hex of a digest's length is kept: under a password name (`ClearTextPassword`) it is a
        // generated password, and names that hold digests are refused by name.
        if isUUID(value) || isWords(value) || isPasswordHash(value) { return false }
        let classes = characterClasses(value)
        if classes >= 3 { return true }
        // Letters only: camel-case identifiers and words (`makesTheBananaEdible`) have few
        // capitals; a random mix (`ZNRKBgiBFTQgvAtjLNDj`) has about as many as small letters.
        // Digits only are a number or PIN.
        let lettersOnly = value.utf8.allSatisfy { (65...90).contains($0) || (97...122).contains($0) }
        if classes == 2, lettersOnly {
            let capitals = Double(value.utf8.filter { (65...90).contains($0) }.count) / Double(length)
            return length >= 10 && (0.3...0.7).contains(capitals)
        }
        if classes == 2 { return length >= 7 && entropy(value) >= 2.5 }
        return false
    }

    /// Whether a value assigned to a secret-, token- or key-like name is a secret.
    public static func isPlausibleSecret(_ value: String, quoted: Bool = false) -> Bool {
        let length = value.utf8.count
        guard length >= 16, length <= 1000, !value.utf8.contains(where: { $0 <= 32 }) else { return false }
        if stopWords.contains(value.lowercased()) || isKnownExampleOrPlaceholder(value) || isReference(value, quoted: quoted) || isStandIn(value) {
            return false
        }
        // Hex is kept: many API keys are hex, and names that hold digests are refused by name.
        if isUUID(value) || isWords(value) { return false }
        guard characterClasses(value) >= 2 else { return false }
        return entropy(value) >= (length >= 32 ? 3.5 : 3.2)
    }
}
