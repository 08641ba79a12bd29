import SwiftASN1

/// The size of an RSA key inside a certificate that X509 would not parse. swift-crypto refuses RSA
/// keys under 2048 bits, so the certificate fails to load at all; reading the modulus straight
/// from the DER lets the error say what is wrong instead of "not a certificate".
enum CertificateKeySize {
    static let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 1, 1]

    /// Bits of the RSA modulus in `der`, or nil when it is not a certificate with an RSA key.
    static func rsaBits(inCertificate der: [UInt8]) -> Int? {
        guard let certificate = try? DER.parse(der), let tbs = children(certificate)?.first, var fields = children(tbs) else { return nil }
        // TBSCertificate: [0] version (optional), serial, signature, issuer, validity, subject, subjectPublicKeyInfo.
        if fields.first?.identifier.tagClass == .contextSpecific { fields.removeFirst() }
        guard fields.count > 5, let info = children(fields[5]), info.count == 2,
            let algorithm = children(info[0])?.first, (try? ASN1ObjectIdentifier(derEncoded: algorithm)) == rsaEncryption,
            case .primitive(let bitString) = info[1].content, bitString.first == 0,
            let publicKey = try? DER.parse(Array(bitString.dropFirst())), let modulus = children(publicKey)?.first,
            case .primitive(var bytes) = modulus.content
        else { return nil }
        while bytes.first == 0 { bytes = bytes.dropFirst() }
        guard let top = bytes.first else { return 0 }
        return (bytes.count - 1) * 8 + (8 - top.leadingZeroBitCount)
    }

    private static func children(_ node: ASN1Node) -> [ASN1Node]? {
        guard case .constructed(let nodes) = node.content else { return nil }
        return Array(nodes)
    }
}
