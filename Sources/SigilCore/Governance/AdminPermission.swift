/// One thing an admin API caller may do (DESIGN §5). Every admin route declares the one it needs;
/// roles are sets of them. The raw values are the names administrators write in
/// `sigil role create NAME --permission …` and must never change.
public enum AdminPermission: String, Sendable, CaseIterable, Comparable {
    case tenantRead = "tenant.read"
    case applicationsRead = "applications.read"
    case applicationsCreate = "applications.create"
    case applicationsUpdate = "applications.update"
    case applicationsDelete = "applications.delete"
    case applicationsCredentialsUpdate = "applications.credentials.update"
    case applicationsRoleAssignmentsUpdate = "applications.roleAssignments.update"
    case managedIdentitiesRead = "managedIdentities.read"
    case managedIdentitiesWrite = "managedIdentities.write"
    case hostsRead = "hosts.read"
    case hostsWrite = "hosts.write"
    case trustedIssuersRead = "trustedIssuers.read"
    case trustedIssuersWrite = "trustedIssuers.write"
    case policiesRead = "policies.read"
    case policiesWrite = "policies.write"
    case rolesRead = "roles.read"
    case rolesWrite = "roles.write"
    case logsRead = "logs.read"
    case riskRead = "risk.read"
    case riskManage = "risk.manage"
    case signingKeysRead = "signingKeys.read"
    case signingKeysRotate = "signingKeys.rotate"
    case keyEncryptionKeyRotate = "keyEncryptionKey.rotate"
    case secretScanningReport = "secretScanning.report"
    case vaultsRead = "vaults.read"
    case vaultsWrite = "vaults.write"
    case vaultSecretsGet = "vault.secrets.get"
    case vaultSecretsSet = "vault.secrets.set"
    case reportsRead = "reports.read"
    case migrationsWrite = "migrations.write"
    case incidentsRead = "incidents.read"
    case incidentsWrite = "incidents.write"

    public static func < (lhs: AdminPermission, rhs: AdminPermission) -> Bool { lhs.rawValue < rhs.rawValue }
}
