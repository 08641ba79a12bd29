package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoadReadsEnvironment(t *testing.T) {
	// Credentials from the AWS documentation; they are not valid anywhere.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("DATABASE_URL", "postgres://orders@localhost:5432/orders_test?sslmode=disable")
	t.Setenv("REQUEST_TIMEOUT", "2s")

	cfg := Load()
	if cfg.AWSAccessKeyID != "AKIAIOSFODNN7EXAMPLE" {
		t.Fatalf("access key id = %q", cfg.AWSAccessKeyID)
	}
	if cfg.RequestTimeout != 2*time.Second {
		t.Fatalf("timeout = %v", cfg.RequestTimeout)
	}
}

func TestStringRedactsSecrets(t *testing.T) {
	cfg := Config{
		DatabaseURL:  "postgres://orders:${DB_PASSWORD}@db:5432/orders",
		AWSSecretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	}
	s := cfg.String()
	if strings.Contains(s, "EXAMPLEKEY") || strings.Contains(s, "DB_PASSWORD") {
		t.Fatalf("secret leaked into %q", s)
	}
	if !strings.Contains(s, "********") {
		t.Fatalf("expected redaction marker in %q", s)
	}
}

func TestDefaults(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("MAX_RETRIES", "not-a-number")
	cfg := Load()
	if cfg.MaxRetries != 3 {
		t.Fatalf("retries = %d", cfg.MaxRetries)
	}
}

func TestRedactEmpty(t *testing.T) {
	const secretToken = ""
	if got := redact(secretToken); got != `""` {
		t.Fatalf("redact(empty) = %q", got)
	}
}
