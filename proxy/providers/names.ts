/** The providers the proxy can route to; kept apart so that pricing and Node-side tools can use it without the Worker's types. */
export type ProviderName = 'openai' | 'anthropic' | 'workers-ai' | 'mock';
