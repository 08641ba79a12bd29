// Command worker consumes order events from RabbitMQ and writes fulfilment jobs to Postgres.
package main

import (
	"context"
	"database/sql"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/acme-corp/orders-worker/internal/config"
	"github.com/acme-corp/orders-worker/internal/notify"
)

const (
	defaultQueue    = "orders.created"
	prefetchCount   = 32
	shutdownTimeout = 15 * time.Second
)

// Fallbacks used by `make run-local`; the deployment sets DATABASE_URL and AMQP_URL.
var (
	localDatabaseURL = "⟦url-password-postgres⟧"
	localAMQPURL     = "⟦url-password|amqp://orders:Hq4v9Lw2Zt7Rk3Np@localhost:5672/orders⟧"
)

func main() {
	queue := flag.String("queue", defaultQueue, "queue to consume")
	flag.Parse()

	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := config.Load()
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = localDatabaseURL
	}
	if cfg.AMQPURL == "" {
		cfg.AMQPURL = localAMQPURL
	}

	db, err := sql.Open("pgx", cfg.DatabaseURL)
	if err != nil {
		logger.Error("open database", "err", err)
		os.Exit(1)
	}
	defer db.Close()
	db.SetMaxOpenConns(10)

	conn, err := amqp.Dial(cfg.AMQPURL)
	if err != nil {
		logger.Error("dial amqp", "err", err)
		os.Exit(1)
	}
	defer conn.Close()

	ch, err := conn.Channel()
	if err != nil {
		logger.Error("open channel", "err", err)
		os.Exit(1)
	}
	if err := ch.Qos(prefetchCount, 0, false); err != nil {
		logger.Error("qos", "err", err)
		os.Exit(1)
	}
	deliveries, err := ch.Consume(*queue, "orders-worker", false, false, false, false, nil)
	if err != nil {
		logger.Error("consume", "err", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	alerts := notify.NewTelegram(cfg.TelegramChatID)

	for {
		select {
		case <-ctx.Done():
			logger.Info("shutting down")
			return
		case d, ok := <-deliveries:
			if !ok {
				logger.Error("delivery channel closed")
				return
			}
			if err := handle(ctx, db, d.Body); err != nil {
				logger.Warn("handle failed", "err", err, "redelivered", d.Redelivered)
				if d.Redelivered {
					alerts.Send(ctx, "order event failed twice: "+err.Error())
				}
				_ = d.Nack(false, !d.Redelivered)
				continue
			}
			_ = d.Ack(false)
		}
	}
}

func handle(ctx context.Context, db *sql.DB, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := db.ExecContext(ctx, `INSERT INTO fulfilment_jobs (payload, status) VALUES ($1, 'pending')`, body)
	return err
}
