// Self-hosted Renovate for gitlab.acme-corp.io. Runs every hour from the renovate-runner project.
module.exports = {
  platform: "gitlab",
  endpoint: "https://gitlab.acme-corp.io/api/v4/",
  // Bot account "renovate-bot", scopes api + write_repository.
  token: process.env.RENOVATE_TOKEN || "⟦gitlab-pat⟧",
  gitAuthor: "Renovate Bot <renovate-bot@acme-corp.io>",
  autodiscover: true,
  autodiscoverFilter: ["platform/*", "orders/*", "payments/*"],
  onboardingConfig: {
    extends: ["local>platform/renovate-config"],
  },
  hostRules: [
    {
      // Only used to fetch changelogs from github.com (avoids the anonymous rate limit).
      matchHost: "github.com",
      token: "⟦github-fine-grained-pat⟧",
    },
    {
      matchHost: "https://npm.pkg.github.com",
      hostType: "npm",
      token: process.env.GITHUB_PACKAGES_TOKEN,
    },
    {
      matchHost: "nexus.acme-corp.io",
      username: "renovate",
      password: process.env.NEXUS_PASSWORD,
    },
  ],
  packageRules: [
    {
      matchUpdateTypes: ["minor", "patch"],
      matchCurrentVersion: "!/^0/",
      automerge: true,
    },
    {
      matchDatasources: ["docker"],
      pinDigests: true,
    },
  ],
  prHourlyLimit: 4,
  prConcurrentLimit: 20,
};
