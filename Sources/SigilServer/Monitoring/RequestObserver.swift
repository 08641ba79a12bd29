import Foundation
import Hummingbird
import Logging
import SigilCore

/// The outermost middleware, so what it sees is what the client gets: times every request into
/// `sigil_http_request_duration_seconds` (with metrics on), and at `--log-level debug` logs one
/// line per request with its method, path, status and duration. The path only, never the query
/// or a header: a client may put a secret in either (a token request sent as a GET). Timing ends
/// at the response's head; every Sigil body is a small buffer written after it.
struct RequestObserver: RouterMiddleware {
    typealias Context = SigilRequestContext
    /// nil with `--metrics off`.
    let metrics: ServerMetrics?
    let logs: Bool
    let vaults: VaultAddressing

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            finished(request, context: context, status: Int((error as? any HTTPResponseError)?.status.code ?? 500), since: start)
            throw error
        }
        finished(request, context: context, status: Int(response.status.code), since: start)
        return response
    }

    private func finished(_ request: Request, context: Context, status: Int, since start: UInt64) {
        let nanoseconds = Int64(DispatchTime.now().uptimeNanoseconds - start)
        if let metrics {
            var group = RouteGroup(path: request.uri.path)
            if group == .other, vaults.vaultName(host: request.head.authority) != nil { group = .vault }
            metrics.requestFinished(group, status: status, nanoseconds: nanoseconds)
        }
        if logs {
            context.logger.debug("request", metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(status)",
                "duration_ms": "\(String(format: "%.3f", Double(nanoseconds) / 1_000_000))", "client": "\(context.clientAddress)",
            ])
        }
    }
}
