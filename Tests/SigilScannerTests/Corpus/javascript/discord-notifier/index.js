#!/usr/bin/env node
// Posts GitHub release events to the community Discord and the maintainers' Telegram group.
// Runs as a small webhook receiver on the docs box.

const http = require("node:http");
const crypto = require("node:crypto");

const PORT = Number(process.env.PORT || 3030);
const GITHUB_WEBHOOK_SECRET = process.env.GITHUB_WEBHOOK_SECRET;
const DISCORD_WEBHOOK_URL = "⟦discord-webhook-url⟧";
const TELEGRAM_BOT_TOKEN = "⟦telegram-bot-token⟧";
const TELEGRAM_CHAT_ID = "-1001873320456";

function verifySignature(body, signature) {
  if (!GITHUB_WEBHOOK_SECRET || !signature) return false;
  const expected = "sha256=" + crypto.createHmac("sha256", GITHUB_WEBHOOK_SECRET).update(body).digest("hex");
  const a = Buffer.from(signature);
  const b = Buffer.from(expected);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

async function postDiscord(release, repo) {
  await fetch(DISCORD_WEBHOOK_URL, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      username: "release-bot",
      embeds: [
        {
          title: `${repo} ${release.tag_name}`,
          url: release.html_url,
          description: (release.body || "").slice(0, 1800),
          color: 0x2563eb,
        },
      ],
    }),
  });
}

async function postTelegram(release, repo) {
  const url = `https://api.telegram.org/bot${TELEGRAM_BOT_TOKEN}/sendMessage`;
  await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ chat_id: TELEGRAM_CHAT_ID, text: `New release: ${repo} ${release.tag_name}\n${release.html_url}` }),
  });
}

const server = http.createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/github") {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const body = Buffer.concat(chunks);
    if (!verifySignature(body, req.headers["x-hub-signature-256"])) {
      res.writeHead(401).end("bad signature");
      return;
    }
    const event = JSON.parse(body.toString("utf8"));
    if (req.headers["x-github-event"] === "release" && event.action === "published") {
      await Promise.allSettled([postDiscord(event.release, event.repository.full_name), postTelegram(event.release, event.repository.full_name)]);
    }
    res.writeHead(204).end();
  });
});

server.listen(PORT, () => console.log(`listening on :${PORT}`));
