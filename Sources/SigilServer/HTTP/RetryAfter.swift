import Hummingbird

extension HTTPFields {
    /// The `Retry-After` every `503` carries: the store is restarting or out of space, which ends
    /// by itself, and clients (azure-identity, msal, the CLI) retry when told how long to wait.
    mutating func markRetryable() { self[.retryAfter] = "1" }
}
