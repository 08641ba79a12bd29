"""Support-ticket summariser.

Tries OpenAI first, falls back to Anthropic, and uses a local Hugging Face model for
language detection so that non-English tickets get routed to the right queue.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

import anthropic
from huggingface_hub import login
from openai import OpenAI
from transformers import pipeline

Provider = Literal["openai", "anthropic"]

OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-3-5-haiku-latest"
MAX_TOKENS = 400
tokenizer_name = "papluca/xlm-roberta-base-language-detection"

# Keys for the shared "support-tools" project. Local overrides go in .env.local.
OPENAI_API_KEY = os.getenv("OPENAI_API_KEY") or "⟦openai-api-key⟧"
ANTHROPIC_API_KEY = os.getenv("ANTHROPIC_API_KEY", "⟦anthropic-api-key⟧")
HF_TOKEN = "⟦huggingface-token⟧"

SYSTEM_PROMPT = (
    "You summarise customer support tickets for the on-call engineer. "
    "Never include passwords, API keys or personal data in the summary."
)


@lru_cache(maxsize=1)
def language_detector():
    login(token=HF_TOKEN, add_to_git_credential=False)
    return pipeline("text-classification", model=tokenizer_name)


def detect_language(text: str) -> str:
    result = language_detector()(text[:512])[0]
    return result["label"]


def summarise(ticket: str, provider: Provider = "openai") -> str:
    if provider == "openai":
        client = OpenAI(api_key=OPENAI_API_KEY)
        completion = client.chat.completions.create(
            model=OPENAI_MODEL,
            max_tokens=MAX_TOKENS,
            messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": ticket}],
        )
        return completion.choices[0].message.content.strip()

    client = anthropic.Anthropic(api_key=ANTHROPIC_API_KEY)
    message = client.messages.create(
        model=ANTHROPIC_MODEL,
        max_tokens=MAX_TOKENS,
        system=SYSTEM_PROMPT,
        messages=[{"role": "user", "content": ticket}],
    )
    return message.content[0].text.strip()


def triage(ticket: str) -> dict:
    language = detect_language(ticket)
    try:
        summary = summarise(ticket, "openai")
    except Exception:  # noqa: BLE001 - any provider failure falls through to the backup
        summary = summarise(ticket, "anthropic")
    queue = "support-en" if language == "en" else f"support-intl-{language}"
    return {"language": language, "queue": queue, "summary": summary}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(triage(sys.stdin.read()), indent=2, ensure_ascii=False))
