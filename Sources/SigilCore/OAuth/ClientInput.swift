/// What the server may repeat of a value a client sent, in an error or in the sign-in log.
///
/// A secret pasted into the wrong field (`client_id`, `scope`) must not be stored or echoed: a
/// value holding a Sigil secret prefix followed by 16 or more characters of its alphabet (a
/// whole secret, or a mangled copy of one) is replaced by a note saying so. A value over 256
/// characters is not an identifier anyone typed and is replaced by its length.
public enum ClientInput {
    public static let maximumStoredLength = 256

    /// `value`, or a note in its place when it must not be repeated.
    public static func redacted(_ value: String) -> String {
        if value.utf8.count > maximumStoredLength { return "[redacted: \(value.utf8.count) characters]" }
        if looksLikeSigilSecret(value) { return "[redacted: a Sigil secret; send it as client_secret, and rotate it if it was shared]" }
        return value
    }

    /// Whether `value` contains `sgs_` or `sgj_` followed by at least 16 secret characters.
    public static func looksLikeSigilSecret(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        let prefixes = SigilSecretFormat.Kind.allCases.map { Array($0.rawValue.utf8) }
        var index = 0
        while index + 4 <= bytes.count {
            if prefixes.contains(where: { bytes[index..<(index + 4)].elementsEqual($0) }) {
                let run = bytes[(index + 4)...].prefix(while: SigilSecretFormat.isAlphanumeric)
                if run.count >= 16 { return true }
            }
            index += 1
        }
        return false
    }
}
