package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"
)

// botToken is the @acme_orders_alerts_bot token. It is overridden by TELEGRAM_BOT_TOKEN when set.
const botToken = "⟦telegram-bot-token⟧"

// Telegram sends plain-text alerts to one chat.
type Telegram struct {
	token  string
	chatID string
	client *http.Client
}

func NewTelegram(chatID string) *Telegram {
	token := os.Getenv("TELEGRAM_BOT_TOKEN")
	if token == "" {
		token = botToken
	}
	return &Telegram{token: token, chatID: chatID, client: &http.Client{Timeout: 10 * time.Second}}
}

func (t *Telegram) Send(ctx context.Context, text string) error {
	if t.chatID == "" {
		return nil
	}
	payload, err := json.Marshal(map[string]any{"chat_id": t.chatID, "text": text, "disable_web_page_preview": true})
	if err != nil {
		return err
	}
	url := fmt.Sprintf("https://api.telegram.org/bot%s/sendMessage", t.token)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("telegram: %s", resp.Status)
	}
	return nil
}
