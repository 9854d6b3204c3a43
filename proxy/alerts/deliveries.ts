/**
 * Raising an alert once and delivering it, in D1 so that it holds across isolates, cron runs and
 * retries:
 * - Once: an alert is an INSERT on its dedupe key (migrations/0019). Whoever inserts first raises
 *   it and creates its deliveries in the same transaction; everyone else's insert is ignored and
 *   sends nothing.
 * - Attempts: taking an attempt is one UPDATE that counts it and moves `next_attempt_at` past the
 *   attempt's end (a lease), so two runs never make the same attempt. The first attempts are made
 *   at once, in the waitUntil of whatever raised the alert (a call, the cron), never in a
 *   response's way: DELIVERY_TIMEOUT_MS each, retried after RETRY_BACKOFF_MS while the wait is
 *   short; later ones are made by the cron (every 10 minutes) once their backoff has passed, up to
 *   MAX_ATTEMPTS, after which the delivery is `failed`.
 * - At least once, not more: a receiver that took a POST but whose answer was lost (a timeout), or
 *   an outcome D1 failed to record, is tried again.
 * Every attempt's outcome is recorded on its delivery, which GET /admin/alerts lists.
 */
import { decodeCursor, encodeCursor } from '../../analytics/requests';
import type { Env } from '../core/env';
import { invalidRequest } from '../core/errors';
import { newAlertId, newDeliveryId } from '../core/ids';
import { redactedUrl, type Destination } from './destinations';
import type { AlertDelivery, AlertDeliveryPage, AlertKind, AlertPayload, AlertsFilter } from './schemas';

/** How long a receiver has to answer one POST. */
export const DELIVERY_TIMEOUT_MS = 5000;
/** Attempts per delivery, after which it is given up (`failed`). */
export const MAX_ATTEMPTS = 6;
/** The wait after each failed attempt (the first, the second...): two quick ones, then the cron's. */
export const RETRY_BACKOFF_MS = [1000, 3000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000];
/** Backoffs up to this are waited out where the alert was raised; longer ones are left to the cron. */
const QUICK_RETRY_MAX_MS = 5000;
/** How long an attempt holds its delivery: past the timeout, so a run that died mid-attempt is retried. */
const ATTEMPT_LEASE_MS = 60_000;
/** Error texts are for people, and a hostile receiver could send anything. */
const MAX_ERROR_CHARS = 300;

/** An alert to raise: what it is about (its dedupe key), what it says, and where it goes. */
export interface AlertToRaise {
  dedupeKey: string;
  kind: AlertKind;
  state: 'firing' | 'resolved';
  tenantId: string | null;
  keyId: string | null;
  subject: string;
  /** The body, once the alert has its id and time. */
  payload(id: string, createdAt: number): AlertPayload;
  destinations: Array<{ destination: Destination; url: string }>;
}

/** A delivery as its sender needs it. */
interface Outbound {
  id: string;
  url: string;
  body: string;
}

/**
 * Raises an alert unless something raised it first (its dedupe key), and delivers it. Resolves
 * once the quick attempts are over; the cron retries what is left.
 */
export async function raiseAlert(env: Env, alert: AlertToRaise, now: number): Promise<void> {
  const id = newAlertId();
  const payload = alert.payload(id, now);
  const body = JSON.stringify(payload);
  const outbound = alert.destinations.map((d) => ({ ...d, id: newDeliveryId(), body }));
  const [claimed] = await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO alerts (id, dedupe_key, kind, state, tenant_id, key_id, subject, text, payload, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
    ).bind(id, alert.dedupeKey, alert.kind, alert.state, alert.tenantId, alert.keyId, alert.subject, payload.text, body, now),
    // Only under this claim's own alert row: nothing when the insert above was ignored.
    ...outbound.map((d) =>
      env.DB.prepare(
        `INSERT INTO alert_deliveries (id, alert_id, destination, url, next_attempt_at, created_at) SELECT ?, id, ?, ?, ?, ? FROM alerts WHERE id = ?`,
      ).bind(d.id, d.destination, d.url, now, now, id),
    ),
  ]);
  if (claimed.meta.changes === 0) return;
  await Promise.all(outbound.map((d) => deliver(env, d, now)));
}

/**
 * Makes a delivery's due attempts: the next one if it is due and no other run holds it, then
 * again after each short backoff. `now` is the run's time (the cron's scheduled time); the
 * attempts' times follow it by the real time that passes.
 */
async function deliver(env: Env, delivery: Outbound, now: number): Promise<void> {
  const started = Date.now();
  const clock = () => now + (Date.now() - started);
  for (;;) {
    const at = clock();
    const taken = await env.DB.prepare(
      `UPDATE alert_deliveries SET attempts = attempts + 1, last_attempt_at = ?1, next_attempt_at = ?2
       WHERE id = ?3 AND status = 'pending' AND next_attempt_at <= ?1 RETURNING attempts`,
    )
      .bind(at, at + ATTEMPT_LEASE_MS, delivery.id)
      .first<{ attempts: number }>();
    if (!taken) return;
    const outcome = await post(delivery.url, delivery.body);
    const backoff = RETRY_BACKOFF_MS[taken.attempts - 1];
    const status = outcome.ok ? 'delivered' : taken.attempts >= MAX_ATTEMPTS ? 'failed' : 'pending';
    const done = clock();
    await env.DB.prepare(
      `UPDATE alert_deliveries SET status = ?, last_http_status = ?, last_error = ?, delivered_at = ?, next_attempt_at = ? WHERE id = ? AND attempts = ?`,
    )
      .bind(status, outcome.httpStatus, outcome.error, outcome.ok ? done : null, status === 'pending' ? done + backoff : null, delivery.id, taken.attempts)
      .run();
    if (status !== 'pending') {
      if (status === 'failed') console.error(`alerts: delivery ${delivery.id} to ${redactedUrl(delivery.url)} given up after ${taken.attempts} attempts`);
      return;
    }
    if (backoff > QUICK_RETRY_MAX_MS) return;
    await new Promise((resolve) => setTimeout(resolve, backoff));
  }
}

interface Outcome {
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
}

/** POSTs the body; any 2xx is a delivery. Redirects are not followed: a webhook that moved is reconfigured, not chased. */
async function post(url: string, body: string): Promise<Outcome> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'ai-cost-proxy-alerts' },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    const answer = (await response.text().catch(() => '')).slice(0, MAX_ERROR_CHARS);
    if (response.ok) return { ok: true, httpStatus: response.status, error: null };
    return { ok: false, httpStatus: response.status, error: `HTTP ${response.status}${answer ? `: ${answer}` : ''}` };
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    const message = timedOut ? `no answer within ${DELIVERY_TIMEOUT_MS} ms` : error instanceof Error ? error.message : String(error);
    return { ok: false, httpStatus: null, error: message.slice(0, MAX_ERROR_CHARS) };
  }
}

/** Deliveries whose backoff has passed, at most this many per cron run (the rest wait for the next). */
const RETRIES_PER_RUN = 100;

/** The cron's part: the due attempts of every pending delivery. How many deliveries were tried. */
export async function retryDueDeliveries(env: Env, now: number): Promise<number> {
  const { results } = await env.DB.prepare(
    `SELECT d.id, d.url, a.payload AS body FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
     WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at LIMIT ?`,
  )
    .bind(now, RETRIES_PER_RUN)
    .all<Outbound>();
  await Promise.all(results.map((delivery) => deliver(env, delivery, now)));
  return results.length;
}

interface DeliveryRow {
  id: string;
  alert_id: string;
  kind: AlertKind;
  state: 'firing' | 'resolved';
  tenant_id: string | null;
  key_id: string | null;
  subject: string;
  text: string;
  payload: string;
  alert_created_at: number;
  destination: Destination;
  url: string;
  status: AlertDelivery['status'];
  attempts: number;
  last_http_status: number | null;
  last_error: string | null;
  last_attempt_at: number | null;
  delivered_at: number | null;
  next_attempt_at: number | null;
  created_at: number;
}

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** GET /admin/alerts: deliveries newest first, by a keyset cursor, each with its alert; webhook URLs redacted. */
export async function listDeliveries(db: D1Database, filter: AlertsFilter): Promise<AlertDeliveryPage> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.tenant) (where.push('a.tenant_id = ?'), params.push(filter.tenant));
  if (filter.kind) (where.push('a.kind = ?'), params.push(filter.kind));
  const cursor = filter.cursor ? decodeCursor(filter.cursor) : null;
  if (filter.cursor && !cursor) throw invalidRequest('Invalid cursor: pass the next_cursor of a previous page as it was given.', 'cursor', 'invalid_value');
  if (cursor) (where.push('(d.created_at < ? OR (d.created_at = ? AND d.id < ?))'), params.push(cursor.ts, cursor.ts, cursor.id));
  const { results } = await db
    .prepare(
      `SELECT d.*, a.kind, a.state, a.tenant_id, a.key_id, a.subject, a.text, a.payload, a.created_at AS alert_created_at
       FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY d.created_at DESC, d.id DESC LIMIT ?`,
    )
    .bind(...params, filter.limit + 1)
    .all<DeliveryRow>();
  const page = results.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    data: page.map((row) => ({
      id: row.id,
      alert_id: row.alert_id,
      kind: row.kind,
      state: row.state,
      tenant_id: row.tenant_id,
      key_id: row.key_id,
      subject: row.subject,
      text: row.text,
      payload: JSON.parse(row.payload) as AlertPayload,
      created_at: new Date(row.alert_created_at).toISOString(),
      destination: row.destination,
      url: redactedUrl(row.url),
      status: row.status,
      attempts: row.attempts,
      last_http_status: row.last_http_status,
      last_error: row.last_error,
      last_attempt_at: isoOrNull(row.last_attempt_at),
      delivered_at: isoOrNull(row.delivered_at),
      next_attempt_at: isoOrNull(row.next_attempt_at),
    })),
    next_cursor: results.length > filter.limit && last ? encodeCursor({ ts: last.created_at, id: last.id }) : null,
  };
}
