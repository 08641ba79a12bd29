#!/usr/bin/env node
// Cuts a release: bumps the version, tags, pushes, publishes to npm and opens the Linear
// release issue. Usage: node release-tools/publish.mjs [patch|minor|major]

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const bump = process.argv[2] ?? "patch";
const GITHUB_TOKEN = process.env.GITHUB_TOKEN ?? "⟦github-pat⟧";
const LINEAR_API_KEY = "⟦linear-api-key⟧";
const LINEAR_TEAM_ID = "1ebb1cf6-e3a0-414e-af86-5f322800f0b5";
const HEROKU_API_KEY = "⟦heroku-api-key⟧";
const REPO = "acme-corp/api-server";

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

function nextVersion(current, kind) {
  const [major, minor, patch] = current.split(".").map(Number);
  if (kind === "major") return `${major + 1}.0.0`;
  if (kind === "minor") return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

async function github(path, body) {
  const res = await fetch(`https://api.github.com${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${GITHUB_TOKEN}`, Accept: "application/vnd.github+json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`GitHub ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function linear(query, variables) {
  const res = await fetch("https://api.linear.app/graphql", {
    method: "POST",
    headers: { Authorization: LINEAR_API_KEY, "Content-Type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()).data;
}

async function herokuRelease(app, version) {
  await fetch(`https://api.heroku.com/apps/${app}/config-vars`, {
    method: "PATCH",
    headers: { Authorization: `Bearer ${HEROKU_API_KEY}`, Accept: "application/vnd.heroku+json; version=3", "Content-Type": "application/json" },
    body: JSON.stringify({ APP_VERSION: version }),
  });
}

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const version = nextVersion(pkg.version, bump);
pkg.version = version;
writeFileSync("package.json", JSON.stringify(pkg, null, 2) + "\n");

run("git", ["commit", "-am", `release: v${version}`]);
run("git", ["tag", `v${version}`]);
run("git", ["push", "--follow-tags"]);
run("npm", ["publish", "--access", "restricted"]);

await github(`/repos/${REPO}/releases`, { tag_name: `v${version}`, generate_release_notes: true });
await linear(
  `mutation($teamId: String!, $title: String!) { issueCreate(input: { teamId: $teamId, title: $title }) { success } }`,
  { teamId: LINEAR_TEAM_ID, title: `Release v${version} verification` },
);
await herokuRelease("acme-api-staging", version);
console.log(`released v${version}`);
