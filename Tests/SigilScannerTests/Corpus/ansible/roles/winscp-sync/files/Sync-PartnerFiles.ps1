<#
.SYNOPSIS
    Pulls the nightly settlement files from the bank's SFTP server with WinSCP.
    Deployed to C:\Jobs\PartnerSync by the winscp-sync role; scheduled at 05:30.
#>
param(
    [string] $Destination = "D:\Settlements\Incoming",
    [string] $HostName = "sftp.bank-partner.eu",
    [string] $UserName = "acme_settlements"
)

$ErrorActionPreference = "Stop"
Add-Type -Path "C:\Program Files (x86)\WinSCP\WinSCPnet.dll"

$keyPath = Join-Path $PSScriptRoot "bank-partner.ppk"
if (-not (Test-Path $keyPath)) {
    # First run on a fresh host: write the key WinSCP needs. The bank only supports PuTTY keys.
    $key = @"
⟦putty-private-key⟧
"@
    Set-Content -Path $keyPath -Value $key -Encoding ascii
    icacls $keyPath /inheritance:r /grant:r "SYSTEM:R" | Out-Null
}

$sessionOptions = New-Object WinSCP.SessionOptions -Property @{
    Protocol              = [WinSCP.Protocol]::Sftp
    HostName              = $HostName
    UserName              = $UserName
    SshPrivateKeyPath     = $keyPath
    SshHostKeyFingerprint = "ssh-ed25519 255 aluQkx3BvCrIFc6JF9aOeNk2tuUNYnctkNwg3JP5yVk="
}

$session = New-Object WinSCP.Session
try {
    $session.Open($sessionOptions)
    $transfer = New-Object WinSCP.TransferOptions
    $transfer.TransferMode = [WinSCP.TransferMode]::Binary

    $result = $session.GetFiles("/outbound/settlements/*.csv", "$Destination\", $true, $transfer)
    $result.Check()
    foreach ($file in $result.Transfers) {
        $hash = (Get-FileHash $file.Destination -Algorithm SHA256).Hash
        Write-Output "$($file.FileName) -> $($file.Destination) sha256=$hash"
    }
}
finally {
    $session.Dispose()
}
