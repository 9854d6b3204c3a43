/**
 * Marks the parts of an Anthropic request that are worth caching on Anthropic's side: tool
 * definitions and long system prompts, the parts apps repeat on every call. Cache reads cost
 * a tenth of normal input; writes cost 1.25x, so only prefixes at least as long as the
 * provider's minimum (1,024 tokens) are marked. A request that already sets any
 * `cache_control` of its own is left exactly as it is.
 *
 * An isolated tenant's salt (../prompt-cache-salt.ts) goes where Anthropic's prompt begins:
 * the prefix runs tools -> system -> messages, so into the first tool of the client's own (its
 * description), else first in the system prompt. Every prefix cached for the tenant then holds
 * the salt; only server tools and MCP toolsets listed before the first custom tool precede it.
 * The salt adds no cache breakpoint, and it is counted when marking decides on the length.
 */
import { saltBlock, saltedText } from '../prompt-cache-salt';
import type { AnthropicRequest, AnthropicTool } from './types';

export const MIN_CACHEABLE_TOKENS = 1024;

const EPHEMERAL = { type: 'ephemeral' } as const;

/** Four characters a token: the estimate only decides whether marking can pay off. */
const approxTokens = (value: unknown) => Math.ceil((typeof value === 'string' ? value : JSON.stringify(value)).length / 4);

function hasOwnCacheControl(request: AnthropicRequest): boolean {
  const marked = (blocks: ReadonlyArray<{ cache_control?: unknown }> | undefined) => blocks?.some((b) => b.cache_control) ?? false;
  // A native request may give the system prompt or a message's content as a string: no marks there.
  const blocks = (content: unknown) => (Array.isArray(content) ? (content as Array<{ cache_control?: unknown }>) : undefined);
  return marked(request.tools) || marked(blocks(request.system)) || request.messages.some((m) => marked(blocks(m.content)));
}

export function markPromptCache(request: AnthropicRequest): AnthropicRequest {
  if (hasOwnCacheControl(request)) return request;
  const toolTokens = request.tools?.length ? approxTokens(request.tools) : 0;
  const systemTokens = request.system?.reduce((sum, block) => sum + approxTokens(block.text), 0) ?? 0;
  const marked: AnthropicRequest = { ...request };

  // The cached prefix runs tools -> system -> messages, so a breakpoint on the system prompt
  // covers the tools too; tools get their own when they alone are long enough, so that a
  // system prompt that varies does not cost them their cache.
  if (request.tools?.length && toolTokens >= MIN_CACHEABLE_TOKENS) {
    marked.tools = request.tools.map((tool, i, all) => (i === all.length - 1 ? { ...tool, cache_control: EPHEMERAL } : tool));
  }
  if (request.system?.length && toolTokens + systemTokens >= MIN_CACHEABLE_TOKENS) {
    marked.system = request.system.map((block, i, all) => (i === all.length - 1 ? { ...block, cache_control: EPHEMERAL } : block));
  }
  return marked;
}

/** A tool the client defines itself (server tools have a `type` of their own and no description). */
const isCustomTool = (tool: AnthropicTool) => {
  const type = (tool as AnthropicTool & { type?: unknown }).type;
  return type === undefined || type === 'custom';
};

/** The request with `salt` where its prompt begins: in its first custom tool, else first in its system prompt. */
export function saltPrompt(request: AnthropicRequest, salt: string): AnthropicRequest {
  const first = request.tools?.findIndex(isCustomTool) ?? -1;
  if (request.tools && first >= 0) {
    return { ...request, tools: request.tools.map((tool, i) => (i === first ? { ...tool, description: saltedText(salt, tool.description) } : tool)) };
  }
  return { ...request, system: [saltBlock(salt), ...(request.system ?? [])] };
}
