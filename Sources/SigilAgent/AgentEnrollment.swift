import Foundation
import SigilCore

/// `sigil agent enroll`: registers this host with the server using a one-time join token and a
/// P-256 key generated here, and writes the state folder.
public enum AgentEnrollment {
    /// Checks the join token's format offline, so a mistyped token is refused before any call.
    public static func validate(joinToken: String) throws {
        switch SigilSecretFormat.validate(joinToken) {
        case .success(.joinToken): return
        case .success: throw AgentStateError("the join token must start with sgj_ (this is another kind of Sigil secret)")
        case .failure(let problem): throw AgentStateError("the join token is malformed: \(problem)")
        }
    }

    /// Enrolls: validates the token, copies the CA into the state folder, generates the key,
    /// calls the server, then writes `agent.json` and moves the key into place (in the order a
    /// key rotation uses, so a crash never leaves `agent.json` naming a key that is not there).
    public static func enroll(server: String, caFile: String, joinToken: String, state: AgentState, hostname: String) async throws -> AgentRegistration {
        try validate(joinToken: joinToken)
        let server = server.hasSuffix("/") ? String(server.dropLast()) : server
        guard server.hasPrefix("https://") else { throw AgentStateError("--server must be an https:// URL") }
        guard let ca = FileManager.default.contents(atPath: caFile) else { throw AgentStateError("cannot read the CA file \(caFile)") }
        try state.create()
        try AtomicFile.write(state.caPath, String(decoding: ca, as: UTF8.self), mode: 0o644)
        let (key, proposedKid) = HostKey.generate()
        try state.writeKey(key, to: state.pendingKeyPath)
        // Nothing may throw between making the client and the block that shuts it down.
        let client = try ServerClient(server: server, caFile: state.caPath)
        let enrollment: Enrollment
        do {
            enrollment = try await client.enroll(joinToken: joinToken, key: key, kid: proposedKid, hostname: hostname)
            await client.shutdown()
        } catch {
            await client.shutdown()
            unlink(state.pendingKeyPath)
            throw AgentStateError("enrollment failed: \(error)")
        }
        let registration = AgentRegistration(
            server: server, caFile: state.caPath, tenantId: enrollment.tenantId, hostId: enrollment.hostId, hostName: enrollment.hostName,
            tokenEndpoint: enrollment.tokenEndpoint, systemIdentity: enrollment.systemIdentity, kid: enrollment.kid,
            keyThumbprint: key.publicKey.thumbprint, keyCreatedAt: Date())
        try state.adoptPendingKey(registration)
        return registration
    }
}
