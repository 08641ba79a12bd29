import request from "supertest";
import jwt from "jsonwebtoken";
import { describe, it, expect, beforeAll } from "vitest";
import { buildApp } from "../src/app";

const secret = process.env.JWT_SECRET ?? "test-secret-not-used-in-prod";
const password = process.env.SEED_USER_PASSWORD ?? "";
const expiredToken = jwt.sign({ sub: "user-1" }, secret, { expiresIn: -10 });

// From the jwt.io debugger; signed with "your-256-bit-secret".
const foreignToken =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

// Looks like a classic PAT but the checksum is wrong, so GitHub would reject it immediately.
const mangledGithubToken = "ghp_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEeeby3";

describe("auth", () => {
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    app = await buildApp({ jwtSecret: secret });
  });

  it("rejects a token signed by someone else", async () => {
    const res = await request(app).get("/me").set("Authorization", `Bearer ${foreignToken}`);
    expect(res.status).toBe(401);
  });

  it("rejects an expired token", async () => {
    const res = await request(app).get("/me").set("Authorization", `Bearer ${expiredToken}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("token_expired");
  });

  it("does not accept GitHub tokens as API keys", async () => {
    const res = await request(app).get("/me").set("X-API-Key", mangledGithubToken);
    expect(res.status).toBe(401);
  });

  it("logs in with the seeded user", async () => {
    const res = await request(app).post("/login").send({ email: "seed@acme.test", password });
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe("Bearer");
    expect(res.body.access_token).toMatch(/^eyJ/);
  });

  it("never returns the password hash", async () => {
    const res = await request(app).get("/users/1").set("Authorization", `Bearer ${jwt.sign({ sub: "1" }, secret)}`);
    expect(res.body.password).toBeUndefined();
    expect(res.body.passwordHash).toBeUndefined();
  });
});
