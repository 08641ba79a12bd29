package config

import (
	"os"
	"strconv"
	"time"
)

// Config is read once at start-up. Secrets are never logged; String() redacts them.
type Config struct {
	DatabaseURL    string
	AMQPURL        string
	TelegramChatID string
	AWSRegion      string
	AWSAccessKeyID string
	AWSSecretKey   string
	RequestTimeout time.Duration
	MaxRetries     int
}

func Load() Config {
	return Config{
		DatabaseURL:    os.Getenv("DATABASE_URL"),
		AMQPURL:        os.Getenv("AMQP_URL"),
		TelegramChatID: os.Getenv("TELEGRAM_CHAT_ID"),
		AWSRegion:      getenv("AWS_REGION", "eu-west-1"),
		AWSAccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"),
		AWSSecretKey:   os.Getenv("AWS_SECRET_ACCESS_KEY"),
		RequestTimeout: duration("REQUEST_TIMEOUT", 10*time.Second),
		MaxRetries:     integer("MAX_RETRIES", 3),
	}
}

func (c Config) String() string {
	return "Config{DatabaseURL: " + redact(c.DatabaseURL) + ", AWSAccessKeyID: " + c.AWSAccessKeyID +
		", AWSSecretKey: " + redact(c.AWSSecretKey) + "}"
}

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "********"
}

func getenv(key, fallback string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return fallback
}

func duration(key string, fallback time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return fallback
}

func integer(key string, fallback int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return n
	}
	return fallback
}
