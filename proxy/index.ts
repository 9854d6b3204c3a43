/** Worker entry point. */
import { app } from './app';
import type { Env } from './env';

export { TenantRateLimiter } from './rate-limit-store';

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
