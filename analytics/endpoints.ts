/**
 * The inbound APIs a request-log row names in `endpoint` (D1 `requests.endpoint`, Analytics Engine
 * blob7): the one list the admin API's schemas (schemas.ts) and the dashboard's choices read. No
 * imports, so the dashboard's bundle takes only this list from here.
 */
export const ENDPOINTS = ['chat', 'embeddings', 'responses', 'messages', 'count_tokens'] as const;

/** The path each endpoint serves, for people reading a report. */
export const ENDPOINT_PATHS: Record<(typeof ENDPOINTS)[number], string> = {
  chat: '/v1/chat/completions',
  embeddings: '/v1/embeddings',
  responses: '/v1/responses',
  messages: '/v1/messages',
  count_tokens: '/v1/messages/count_tokens',
};
