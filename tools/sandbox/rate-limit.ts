import { z } from 'zod';
import type { RateLimitOptions } from './types';

export const rateLimitOptionsSchema = z.object({
  capacity: z.number().int().min(1),
  refillPerSecond: z.number().positive().finite(),
  retryAfter: z.enum(['seconds', 'http-date', 'none']).optional(),
});

/**
 * Token bucket over every authenticated /v1 call. Starts full; refills continuously from the
 * injected clock. Hero publishes no limits (docs/hero-api.md §6.3): this only exercises client handling.
 */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    readonly opts: RateLimitOptions,
    private readonly now: () => number,
  ) {
    rateLimitOptionsSchema.parse(opts);
    this.#tokens = opts.capacity;
    this.#last = now();
  }

  /** Takes a token, or returns the whole seconds until one is available (always >= 1). */
  take(): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const t = this.now();
    const elapsed = Math.max(0, t - this.#last);
    this.#last = t;
    this.#tokens = Math.min(this.opts.capacity, this.#tokens + (elapsed / 1000) * this.opts.refillPerSecond);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return { ok: true };
    }
    const seconds = (1 - this.#tokens) / this.opts.refillPerSecond;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(seconds)) };
  }

  /** The Retry-After header value for a 429, or undefined for none. An HTTP-date is rounded up to a whole second. */
  retryAfterHeader(retryAfterSeconds: number): string | undefined {
    switch (this.opts.retryAfter ?? 'seconds') {
      case 'seconds':
        return String(retryAfterSeconds);
      case 'http-date':
        return new Date(Math.ceil((this.now() + retryAfterSeconds * 1000) / 1000) * 1000).toUTCString();
      case 'none':
        return undefined;
    }
  }
}
