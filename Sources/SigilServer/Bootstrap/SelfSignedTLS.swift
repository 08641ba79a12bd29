import Crypto
import Foundation
import Logging
import SwiftASN1
import X509

/// The embedded default's TLS: a private CA and a leaf for `localhost`, `127.0.0.1`, `::1` and
/// `*.VAULT_DOMAIN` (1 year), generated into the data folder on first start, and again once the
/// leaf has less than a day left or does not cover the vault domain in force. Clients trust `ca.pem`. The CA's key is discarded once the leaf is signed, so a new
/// leaf comes with a new CA, which clients must trust anew (docs/operations.md: renewal).
enum SelfSignedTLS {
    static let caFile = "tls/ca.pem"
    static let certificateFile = "tls/server.pem"
    static let keyFile = "tls/server-key.pem"
    /// Where earlier versions kept the CA's private key; removed when found.
    static let retiredCAKeyFile = "tls/ca-key.pem"

    /// Returns the paths of the leaf chain and key, generating them when absent or expired.
    static func ensure(in folder: DataFolder, vaultDomain: String = ServerConfiguration.defaultVaultDomain, now: Date = Date(), logger: Logger) throws -> (certificate: String, key: String, ca: String) {
        try FileManager.default.createDirectory(atPath: folder.path("tls"), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if folder.exists(retiredCAKeyFile) { try FileManager.default.removeItem(atPath: folder.path(retiredCAKeyFile)) }
        if folder.exists(certificateFile), folder.exists(keyFile), folder.exists(caFile),
            // server.pem holds the leaf and then the CA: the leaf is the first document.
            let leafDocument = try? PEMDocument.parseMultiple(pemString: folder.read(certificateFile)).first,
            let leaf = try? Certificate(pemDocument: leafDocument), leaf.notValidAfter > now.addingTimeInterval(86_400)
        {
            let names = (try? leaf.extensions.subjectAlternativeNames) ?? nil
            if names?.contains(.dnsName("*." + vaultDomain)) == true {
                return (folder.path(certificateFile), folder.path(keyFile), folder.path(caFile))
            }
            logger.warning("the generated TLS certificate does not cover *.\(vaultDomain): a new CA and certificate replace it; clients must trust the new \(folder.path(caFile))")
        } else if folder.exists(caFile) {
            logger.warning("the generated TLS certificate expires within a day: a new CA and certificate replace it; clients must trust the new \(folder.path(caFile))")
        }
        let loopbackV4: [UInt8] = [127, 0, 0, 1]
        let loopbackV6: [UInt8] = Array(repeating: 0, count: 15) + [1]
        let caKey = P256.Signing.PrivateKey()
        let caKeyIdentifier = SubjectKeyIdentifier(hash: .init(caKey.publicKey))
        let caName = try DistinguishedName { CommonName("Sigil local CA"); OrganizationName("Sigil") }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(2 * 365 * 86_400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                caKeyIdentifier
            },
            issuerPrivateKey: .init(caKey))
        let leafKey = P256.Signing.PrivateKey()
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(365 * 86_400),
            issuer: caName, subject: try DistinguishedName { CommonName("localhost") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectKeyIdentifier(hash: .init(leafKey.publicKey))
                AuthorityKeyIdentifier(keyIdentifier: caKeyIdentifier.keyIdentifier)
                SubjectAlternativeNames([.dnsName("localhost"), .dnsName("*." + vaultDomain), .ipAddress(ASN1OctetString(contentBytes: ArraySlice(loopbackV4))),
                    .ipAddress(ASN1OctetString(contentBytes: ArraySlice(loopbackV6)))])
            },
            issuerPrivateKey: .init(caKey))
        // The CA's key signs this one leaf and is then dropped: nobody, the server included, can
        // make another certificate that clients trusting ca.pem would accept.
        try folder.write(caFile, try ca.serializeAsPEM().pemString, secret: false)
        try folder.write(keyFile, leafKey.pemRepresentation, secret: true)
        try folder.write(certificateFile, try leaf.serializeAsPEM().pemString + "\n" + ca.serializeAsPEM().pemString, secret: false)
        return (folder.path(certificateFile), folder.path(keyFile), folder.path(caFile))
    }
}
