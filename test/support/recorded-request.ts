/** What the fake upstream recorded of one request. Kept free of Node types: worker tests import it too. */
export interface RecordedRequest {
  seq: number;
  ts: number;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or null when the body is empty or not JSON. */
  body: any;
  rawBody: string;
  /** True once the response was fully sent. */
  completed: boolean;
  /** True when the client closed the connection before the response ended. */
  aborted: boolean;
}

/** One POST a webhook channel of the fake upstream received (/__webhooks/<channel>). */
export interface ReceivedWebhook {
  ts: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or null when it was not JSON. */
  body: unknown;
  /** What the receiver answered: 503 while told to fail, then 200. */
  status: number;
}
