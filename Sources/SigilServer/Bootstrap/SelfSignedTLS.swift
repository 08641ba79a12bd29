import Crypto
import Foundation
import SwiftASN1
import X509

/// The embedded default's TLS: a private CA (10 years) and a leaf for `localhost`, `127.0.0.1`
/// and `::1` (1 year), generated into the data folder on first start. Clients trust `ca.pem`.
enum SelfSignedTLS {
    static let caFile = "tls/ca.pem"
    static let certificateFile = "tls/server.pem"
    static let keyFile = "tls/server-key.pem"

    /// Returns the paths of the leaf chain and key, generating them when absent or expired.
    static func ensure(in folder: DataFolder, now: Date = Date()) throws -> (certificate: String, key: String, ca: String) {
        try FileManager.default.createDirectory(atPath: folder.path("tls"), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if folder.exists(certificateFile), folder.exists(keyFile), folder.exists(caFile),
            // server.pem holds the leaf and then the CA: the leaf is the first document.
            let leafDocument = try? PEMDocument.parseMultiple(pemString: folder.read(certificateFile)).first,
            let leaf = try? Certificate(pemDocument: leafDocument), leaf.notValidAfter > now.addingTimeInterval(86_400)
        {
            return (folder.path(certificateFile), folder.path(keyFile), folder.path(caFile))
        }
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("Sigil local CA"); OrganizationName("Sigil") }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(caKey.publicKey))
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
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                    .ipAddress(ASN1OctetString(contentBytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))])
            },
            issuerPrivateKey: .init(caKey))
        try folder.write("tls/ca-key.pem", caKey.pemRepresentation, secret: true)
        try folder.write(caFile, try ca.serializeAsPEM().pemString, secret: false)
        try folder.write(keyFile, leafKey.pemRepresentation, secret: true)
        try folder.write(certificateFile, try leaf.serializeAsPEM().pemString + "\n" + ca.serializeAsPEM().pemString, secret: false)
        return (folder.path(certificateFile), folder.path(keyFile), folder.path(caFile))
    }
}
