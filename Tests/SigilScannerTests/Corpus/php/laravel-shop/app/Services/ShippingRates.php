<?php

declare(strict_types=1);

namespace App\Services;

use Illuminate\Http\Client\PendingRequest;
use Illuminate\Support\Facades\Cache;
use Illuminate\Support\Facades\Http;
use Illuminate\Support\Facades\Log;

/**
 * Fetches carrier rates and posts a Slack alert when a carrier API is down.
 */
final class ShippingRates
{
    private const CACHE_TTL = 600;
    private const ALERT_WEBHOOK = '⟦slack-webhook-url⟧';

    // Postman mock server used by the QA team for carrier contract tests.
    private const POSTMAN_API_KEY = '⟦postman-api-key⟧';
    private const POSTMAN_MOCK = 'https://4802ab1e-a39e-46cd-bbf6-5de19aac43a0.mock.pstmn.io';

    public function __construct(
        private readonly string $carrierBaseUrl,
        private readonly string $carrierToken = '',
    ) {
    }

    /** @return array<int, array{carrier: string, service: string, amount: int, currency: string}> */
    public function quote(string $fromPostcode, string $toPostcode, int $weightGrams): array
    {
        $key = sprintf('rates:%s:%s:%d', $fromPostcode, $toPostcode, intdiv($weightGrams, 250));

        return Cache::remember($key, self::CACHE_TTL, function () use ($fromPostcode, $toPostcode, $weightGrams) {
            $response = $this->client()->post('/v2/rates', [
                'from' => ['postcode' => $fromPostcode, 'country' => 'NL'],
                'to' => ['postcode' => $toPostcode],
                'parcel' => ['weight' => $weightGrams],
            ]);

            if ($response->failed()) {
                $this->alert("Carrier API returned {$response->status()} for {$fromPostcode} → {$toPostcode}");
                return [];
            }

            return $response->json('rates', []);
        });
    }

    private function client(): PendingRequest
    {
        $base = app()->environment('testing') ? self::POSTMAN_MOCK : $this->carrierBaseUrl;
        $request = Http::baseUrl($base)->timeout(5)->acceptJson();
        if (app()->environment('testing')) {
            return $request->withHeaders(['x-api-key' => self::POSTMAN_API_KEY]);
        }
        return $request->withToken($this->carrierToken ?: (string) config('services.carrier.token'));
    }

    private function alert(string $text): void
    {
        try {
            Http::post(self::ALERT_WEBHOOK, ['text' => ":truck: {$text}"]);
        } catch (\Throwable $e) {
            Log::warning('slack alert failed', ['error' => $e->getMessage()]);
        }
    }
}
