/** The provider registry: one module per provider behind the Provider interface. */
import { anthropic } from './anthropic';
import { mock } from './mock';
import { openai } from './openai';
import type { Provider, ProviderName } from './types';
import { workersAi } from './workers-ai';

export const PROVIDERS: Record<ProviderName, Provider> = {
  openai,
  anthropic,
  'workers-ai': workersAi,
  mock,
};

export const isProviderName = (name: string): name is ProviderName => Object.hasOwn(PROVIDERS, name);
