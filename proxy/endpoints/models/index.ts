/**
 * GET /v1/models: what this deployment can serve, tier aliases first. In OpenAI's list shape,
 * or in Anthropic's when the request names an `anthropic-version` (the Anthropic SDK, Claude Code).
 */
import type { AppContext } from '../../http/context';
import { availableModels, tiersFor } from '../../routing/models';

// OpenAI reports a creation time per model; the proxy's catalog has none, so all share one.
const CATALOG_CREATED = 1_735_689_600;

export function listModels(c: AppContext): Response {
  const models = availableModels(c.env, tiersFor(c.env, c.get('tenant').tenant));
  if (c.req.header('anthropic-version') !== undefined) {
    const createdAt = new Date(CATALOG_CREATED * 1000).toISOString();
    const data = models.map((m) => ({ type: 'model', id: m.id, display_name: m.id, created_at: createdAt }));
    return c.json({ data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
  }
  return c.json({
    object: 'list',
    data: models.map((m) => ({ id: m.id, object: 'model', created: CATALOG_CREATED, owned_by: m.owned_by })),
  });
}
