import Crypto
import _CryptoExtras
import Foundation
import SwiftASN1
import X509

/// An X.509 certificate offered as a key credential, with the identifiers JWS headers use.
public struct CertificateCredential: Sendable {
    public let key: VerificationKey
    public let der: [UInt8]
    public let notValidBefore: Date
    public let notValidAfter: Date
    public let subject: String

    /// base64url SHA-1 of the DER (`x5t`).
    public var x5t: String { Base64URL.encode(Insecure.SHA1.hash(data: der)) }
    /// base64url SHA-256 of the DER (`x5t#S256`).
    public var x5tS256: String { Base64URL.encode(SHA256.hash(data: der)) }
    /// Upper-case hex SHA-1, the "thumbprint" Entra shows.
    public var thumbprintHex: String { Insecure.SHA1.hash(data: der).upperHex }

    public init(pem: String) throws(JWSError) {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: pem)
        } catch {
            if let document = try? PEMDocument(pemString: pem) { try Self.refuseWeakRSA(Array(document.derBytes)) }
            throw JWSError("the certificate is not a PEM-encoded X.509 certificate")
        }
        try self.init(certificate)
    }

    /// Reads a base64 DER certificate, as in a JWS `x5c` header.
    public init(base64DER: String) throws(JWSError) {
        guard let bytes = Data(base64Encoded: base64DER) else { throw JWSError("an x5c entry is not base64") }
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: Array(bytes))
        } catch {
            try Self.refuseWeakRSA(Array(bytes))
            throw JWSError("an x5c entry is not a DER X.509 certificate")
        }
        try self.init(certificate)
    }

    /// A certificate X509 refused because its RSA key is too small: say so.
    static func refuseWeakRSA(_ der: [UInt8]) throws(JWSError) {
        if let bits = CertificateKeySize.rsaBits(inCertificate: der), bits < 2048 { throw weakRSA(bits) }
    }

    static func weakRSA(_ bits: Int) -> JWSError {
        JWSError("key too small: the certificate's RSA key has \(bits) bits; at least 2048")
    }

    init(_ certificate: Certificate) throws(JWSError) {
        if let key = P256.Signing.PublicKey(certificate.publicKey) {
            self.key = .p256(key)
        } else if let key = _RSA.Signing.PublicKey(certificate.publicKey) {
            guard key.keySizeInBits >= 2048 else { throw Self.weakRSA(key.keySizeInBits) }
            self.key = .rsa(key)
        } else {
            throw JWSError("the certificate's key is neither RSA nor EC P-256")
        }
        var serializer = DER.Serializer()
        do {
            try serializer.serialize(certificate)
        } catch {
            throw JWSError("the certificate cannot be re-encoded as DER")
        }
        der = serializer.serializedBytes
        notValidBefore = certificate.notValidBefore
        notValidAfter = certificate.notValidAfter
        subject = String(describing: certificate.subject)
    }
}
