<#
.SYNOPSIS
    Restores the latest production backup of the Orders database into the UAT SQL Server,
    then scrubs personal data. Run from the build agent that has the UAT network route.
#>
[CmdletBinding()]
param(
    [string] $BackupContainer = "https://stbackups7p3.blob.core.windows.net/sql",
    [string] $TargetServer = "sql-uat-01.corp.local",
    [string] $Database = "Orders_UAT"
)

$ErrorActionPreference = "Stop"
Import-Module SqlServer

# SQL login used by the restore job (db_creator + the scrub procedures only).
$connectionString = "⟦connection-string-password-sqlserver⟧"

$latest = az storage blob list --container-name sql --account-name stbackups7p3 --auth-mode login --prefix "Orders/" `
    --query "sort_by([], &properties.lastModified)[-1].name" -o tsv
if (-not $latest) { throw "no backup found" }
Write-Host "Restoring $latest to $TargetServer/$Database"

$restoreSql = @"
RESTORE DATABASE [$Database]
FROM URL = N'$BackupContainer/$latest'
WITH MOVE N'Orders' TO N'D:\Data\$Database.mdf',
     MOVE N'Orders_log' TO N'L:\Logs\$Database.ldf',
     REPLACE, STATS = 10;
"@
Invoke-Sqlcmd -ConnectionString $connectionString -Query $restoreSql -QueryTimeout 7200

$scrub = @(
    "UPDATE dbo.Customers SET Email = CONCAT('customer', Id, '@example.invalid'), Phone = NULL;",
    "UPDATE dbo.Addresses SET Line1 = 'Redacted 1', Line2 = NULL;",
    "UPDATE dbo.Users SET PasswordHash = NULL, SecurityStamp = NEWID();"
)
foreach ($statement in $scrub) {
    Invoke-Sqlcmd -ConnectionString $connectionString -Database $Database -Query $statement
}

Write-Host "Done. Remember to re-run the UAT smoke tests."
