import HTTPTypes
import SigilCore

/// One admin API operation: its method and path under `/admin/v1`, the permission it needs and
/// where that permission must hold. `AdminAPI.routes` lists them all, so the server registers
/// them, checks them and the role-matrix test enumerates them from one table.
struct AdminRoute: Sendable {
    /// Where the caller's permission must hold.
    enum Scope: Sendable, Equatable {
        /// The whole tenant.
        case tenant
        /// The application named by this path parameter (an assignment scoped to it suffices).
        case application(String)
        /// Any assignment carrying the permission, whatever its scope: for what every signed-in
        /// holder needs, such as the tenant's own description that `sigil login` reads.
        case anyAssignment
    }

    let method: HTTPRequest.Method
    /// Relative to `/admin/v1`, with `{name}` parameters.
    let path: String
    let permission: AdminPermission
    let scope: Scope
    let handler: AdminAPI.Handler

    init(_ method: HTTPRequest.Method, _ path: String, _ permission: AdminPermission, scope: Scope = .tenant, handler: @escaping AdminAPI.Handler) {
        self.method = method
        self.path = path
        self.permission = permission
        self.scope = scope
        self.handler = handler
    }
}
