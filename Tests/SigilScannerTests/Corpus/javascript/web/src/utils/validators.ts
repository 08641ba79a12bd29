// Client-side validation helpers. The server re-validates everything.

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

export const passwordRules = [
  { id: "length", test: (pw: string) => pw.length >= PASSWORD_MIN_LENGTH, message: "auth.password_too_short" },
  { id: "letter", test: (pw: string) => /[A-Za-z]/.test(pw), message: "auth.password_needs_letter" },
  { id: "digit", test: (pw: string) => /\d/.test(pw), message: "auth.password_needs_digit" },
] as const;

// Shapes of tokens a user might paste by mistake into the "display name" field.
export const SECRET_LIKE_PATTERNS: Record<string, RegExp> = {
  githubToken: /\bgh[pousr]_[A-Za-z0-9]{36}\b/,
  awsAccessKeyId: /\b(AKIA|ASIA)[A-Z2-7]{16}\b/,
  slackToken: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/,
  privateKey: /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  jwt: /\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\b/,
};

export type ApiKey = string;
export interface Credentials {
  email: string;
  password: string;
  otp?: string;
  apiKey?: ApiKey;
}

export function validatePassword(password: string, confirmation: string): string[] {
  const errors: string[] = passwordRules.filter((r) => !r.test(password)).map((r) => r.message);
  if (password !== confirmation) errors.push("auth.password_mismatch");
  if (password.length > PASSWORD_MAX_LENGTH) errors.push("auth.password_too_long");
  return errors;
}

export function looksLikeSecret(value: string): keyof typeof SECRET_LIKE_PATTERNS | null {
  for (const [name, pattern] of Object.entries(SECRET_LIKE_PATTERNS)) {
    if (pattern.test(value)) return name as keyof typeof SECRET_LIKE_PATTERNS;
  }
  return null;
}

export function maskToken(token: string): string {
  if (token.length <= 8) return "********";
  return `${token.slice(0, 4)}…${token.slice(-4)}`;
}

export const emptyCredentials: Credentials = { email: "", password: "", apiKey: "" };
