import { z } from "zod";
import * as dotenv from "dotenv";

dotenv.config();

/**
 * Runtime configuration. Everything comes from the environment; the schema below
 * documents what each variable means and fails fast when one is missing.
 */
const schema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  PORT: z.coerce.number().int().positive().default(8080),
  DATABASE_URL: z.string().url(),
  REDIS_URL: z.string().url().default("redis://localhost:6379/0"),
  JWT_SECRET: z.string().min(32, "JWT_SECRET must be at least 32 characters"),
  JWT_ISSUER: z.string().default("https://api.acme-corp.io"),
  STRIPE_KEY: z.string().startsWith("sk_"),
  SENDGRID_API_KEY: z.string().optional(),
  SESSION_SECRET: z.string(),
  PASSWORD_MIN_LENGTH: z.coerce.number().default(12),
});

export type Config = z.infer<typeof schema>;

const defaults: Partial<Record<keyof Config, string>> = {
  // Local development only; production sets every one of these.
  DATABASE_URL: "postgres://localhost:5432/acme_dev",
  JWT_SECRET: process.env.NODE_ENV === "production" ? undefined : "⟦generic-secret⟧",
  SESSION_SECRET: "changeme",
  STRIPE_KEY: "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const merged = { ...defaults, ...env };
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  if (parsed.data.NODE_ENV === "production" && parsed.data.SESSION_SECRET === "changeme") {
    throw new Error("SESSION_SECRET must be set in production");
  }
  return parsed.data;
}

export const config = loadConfig();

export const stripeKey = process.env.STRIPE_KEY;
export const apiKeyHeader = "X-API-Key";
export const tokenType = "Bearer";
export const passwordResetPath = "/account/password/reset";
