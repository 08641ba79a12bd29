/// The version `sigil --version` prints. Raised with every release: the minor number when a
/// capability lands, the patch number for fixes.
public enum SigilVersion {
    public static let current = "0.4.0"
}
