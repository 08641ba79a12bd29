import Foundation
import SwiftASN1
import X509

/// Checks on an operator's own TLS files (`--tls-cert`, `--tls-key`) before anything starts.
enum TLSFiles {
    /// Refuses a key that is not the certificate's: the server would start and then fail every
    /// handshake.
    static func checkPair(certificate certificatePath: String, key keyPath: String) throws {
        guard let certificateText = try? String(contentsOfFile: certificatePath, encoding: .utf8) else {
            throw ServerError.configuration("cannot read --tls-cert \(certificatePath)")
        }
        guard let keyText = try? String(contentsOfFile: keyPath, encoding: .utf8) else {
            throw ServerError.configuration("cannot read --tls-key \(keyPath)")
        }
        let leaf: Certificate
        do {
            guard let first = try PEMDocument.parseMultiple(pemString: certificateText).first(where: { $0.discriminator == "CERTIFICATE" }) else {
                throw ServerError.configuration("--tls-cert \(certificatePath) holds no certificate")
            }
            leaf = try Certificate(pemDocument: first)
        } catch let error as ServerError {
            throw error
        } catch {
            throw ServerError.configuration("--tls-cert \(certificatePath) is not a PEM certificate")
        }
        let keyPublic: Certificate.PublicKey
        do {
            keyPublic = try Certificate.PrivateKey(pemEncoded: keyText).publicKey
        } catch {
            throw ServerError.configuration("--tls-key \(keyPath) is not a PEM private key (RSA, P-256, P-384 or Ed25519)")
        }
        guard keyPublic == leaf.publicKey else {
            throw ServerError.configuration("--tls-key \(keyPath) does not match --tls-cert \(certificatePath): the key is not the certificate's")
        }
    }
}
