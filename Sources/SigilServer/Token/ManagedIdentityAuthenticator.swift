import Foundation
import SigilCore

/// A managed identity's token request, made by the agent of a host that may vouch for it: the
/// assertion is signed with the host's key (generated on the host, never sent anywhere) and the
/// host must own the identity (system-assigned) or have it assigned (user-assigned). Removing
/// the host or unassigning the identity changes the directory, so the next request is refused.
struct ManagedIdentityAuthenticator {
    let directory: DirectoryCache
    let audiences: [String]
    let now: Date

    func authenticate(_ jws: CompactJWS, client: DirectoryCache.Client) throws(OAuthError) -> ClientAuthenticator.Proof {
        let kid = jws.header["kid"]?.stringValue ?? "(none)"
        let (key, accepted) = try RegisteredKeyCheck(directory: directory, audiences: audiences, now: now).verify(
            jws, registered: client.hostKeys.map(\.key), clientId: client.app.appId,
            notFound: "no host that may vouch for managed identity '\(client.app.displayName)' holds a key with kid '\(OAuthError.quoted(kid))'; the host was removed, the identity unassigned, or the agent's key replaced")
        let hostId = client.hostKeys.first { $0.key.keyId == key.keyId }?.hostId
        var secretless = SecretlessSignIn(hostId: hostId)
        if let caller = jws.claims["xms_caller"]?.objectValue {
            secretless.callerUid = caller["uid"]?.integerValue
            secretless.callerExecutable = caller["path"]?.stringValue.map { String($0.prefix(1024)) }
        }
        return .init(type: .managedIdentity, credentialId: key.kid, assertionId: accepted.assertionId, secretless: secretless)
    }
}
