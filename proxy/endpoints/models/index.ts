/** GET /v1/models: what this deployment can serve, tier aliases first. */
import { availableModels, tiersFor } from '../../routing/models';
import type { AppContext } from '../../http/context';

// OpenAI reports a creation time per model; the proxy's catalog has none, so all share one.
const CATALOG_CREATED = 1_735_689_600;

export function listModels(c: AppContext): Response {
  return c.json({
    object: 'list',
    data: availableModels(c.env, tiersFor(c.env, c.get('tenant').tenant)).map((m) => ({
      id: m.id,
      object: 'model',
      created: CATALOG_CREATED,
      owned_by: m.owned_by,
    })),
  });
}
