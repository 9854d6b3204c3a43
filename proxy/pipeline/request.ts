/**
 * The start of every proxied call: its body read under the size cap and validated by the
 * endpoint's schema, and what the call's row needs to know about it from then on.
 */
import { bodyUser, headerUser, parseTags } from '../core/attribution';
import { DEFAULT_MAX_BODY_BYTES, numberVar } from '../core/config';
import { ProxyError } from '../core/errors';
import type { RequestRecord } from '../core/request-record';
import { readJsonBody, type JsonBody } from '../http/body';
import type { AppContext } from '../http/context';
import { effectivePrice } from '../pricing/overrides';
import type { ResolvedModel } from '../routing/models';

/** The request as the client sent it (`raw`) and as the endpoint's schema validated it (`body`). */
export interface CallRequest<Body> {
  raw: JsonBody;
  body: Body;
}

/** What the call's row says about the request, set as soon as the body is valid. */
export interface CallDescription {
  model: string;
  stream: boolean;
  /** Estimated prompt tokens: billed if the client leaves before the upstream answers. */
  promptTokens: number;
  /** The request asks for hidden reasoning (reasoning effort, extended thinking). */
  reasoning?: boolean;
  /** The end user the body names (Chat's `user`...), as sent: cleaned up here; x-proxy-user wins over it. */
  user?: string | null;
}

/**
 * Reads the request of a call to `endpoint`; a body refused here is logged against that endpoint
 * too. Attribution comes first: a bad x-proxy-user or x-proxy-tags is refused before the body is
 * read, and a call refused for its body still carries the user and tags of its headers.
 */
export async function readCallRequest<Body>(
  c: AppContext,
  endpoint: RequestRecord['endpoint'],
  parse: (value: unknown) => Body,
  describe: (body: Body) => CallDescription,
): Promise<CallRequest<Body>> {
  const call = c.get('call');
  call.endpoint = endpoint;
  call.user = headerUser(c.req.header('x-proxy-user'));
  call.tags = parseTags(c.req.header('x-proxy-tags'));
  const raw = await readJsonBody(c.req.raw, numberVar(c.env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES));
  const body = parse(raw.value);
  const described = describe(body);
  call.modelRequested = described.model;
  call.stream = described.stream;
  call.promptTokens = described.promptTokens;
  call.reasoning = described.reasoning === true;
  call.user ??= bodyUser(described.user);
  // Kept only for tenants that store content.
  if (c.get('tenant').tenant.store_content) call.requestText = JSON.stringify(body);
  return { raw, body };
}

/** Whether the operator lets models with no price be served (their rows flagged `unpriced`). */
export const allowsUnpriced = (env: AppContext['env']) => env.ALLOW_UNPRICED_MODELS?.trim().toLowerCase() === 'true';

/** A model with no price in force, refused: a call nobody can bill must not be served. */
export const modelNotPriced = (model: ResolvedModel) =>
  new ProxyError(
    403,
    `The model \`${model.id}\` has no price here, so its calls cannot be billed. Price it with PUT /admin/prices/${model.id} (a zero price is fine for a model you run yourself), or set ALLOW_UNPRICED_MODELS=true.`,
    {
      type: 'invalid_request_error',
      code: 'model_not_priced',
      param: 'model',
    },
  );

/** Prices `model` as it is now (a price override may apply); null when it has none. */
export async function priceModel(c: AppContext, model: ResolvedModel): Promise<ResolvedModel> {
  model.price = await effectivePrice(c.env, model.id, model.price);
  return model;
}

/**
 * Notes the model the call was routed to, priced as it is now; a model with no price is
 * refused (403 model_not_priced) unless the operator allows unpriced models.
 */
export async function routeCallTo(c: AppContext, routed: ResolvedModel): Promise<ResolvedModel> {
  const call = c.get('call');
  call.resolved = call.routed = routed;
  await priceModel(c, routed);
  if (!routed.price && !allowsUnpriced(c.env)) throw modelNotPriced(routed);
  return routed;
}
