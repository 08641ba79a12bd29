<#
.SYNOPSIS
    Packs Acme.Orders.Client and pushes it to nuget.org and the internal GitHub Packages feed.
.EXAMPLE
    ./build/publish.ps1 -Version 2.4.0
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string] $Version,
    [string] $Configuration = "Release",
    [switch] $SkipNuGetOrg
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$root = Split-Path -Parent $PSScriptRoot
$artifacts = Join-Path $root "artifacts"
$project = Join-Path $root "src/Acme.Orders.Client/Acme.Orders.Client.csproj"

# nuget.org key scoped to Acme.Orders.* (push only). Expires 2025-09.
$nugetOrgKey = "⟦nuget-api-key⟧"
$githubFeed = "https://nuget.pkg.github.com/acme-corp/index.json"
$githubToken = $env:GITHUB_TOKEN
if (-not $githubToken) {
    $githubToken = "⟦github-pat⟧"
}

if (Test-Path $artifacts) { Remove-Item $artifacts -Recurse -Force }
New-Item -ItemType Directory -Path $artifacts | Out-Null

Write-Host "Packing $project $Version"
dotnet pack $project -c $Configuration -o $artifacts /p:Version=$Version /p:ContinuousIntegrationBuild=true
if ($LASTEXITCODE -ne 0) { throw "dotnet pack failed" }

$packages = Get-ChildItem $artifacts -Filter *.nupkg
foreach ($package in $packages) {
    $hash = (Get-FileHash $package.FullName -Algorithm SHA256).Hash
    Write-Host "$($package.Name)  sha256=$hash"

    dotnet nuget push $package.FullName --source $githubFeed --api-key $githubToken --skip-duplicate
    if (-not $SkipNuGetOrg) {
        dotnet nuget push $package.FullName --source https://api.nuget.org/v3/index.json --api-key $nugetOrgKey --skip-duplicate
    }
}

$credential = Get-Credential -Message "Signing certificate password" -UserName "release"
Write-Host "Done. Remember to sign the release tag with $($credential.UserName)."
