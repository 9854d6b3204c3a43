/** The embeddings request body, validated; unknown fields are kept as sent. */
import { z } from 'zod';
import { modelIdText, parseBody, positiveInt } from '../../http/validation';
import type { EmbeddingsRequest } from '../../providers/types';

export const embeddingsRequestSchema = z.looseObject({
  model: modelIdText,
  input: z.union([
    z.string(),
    z.array(z.string()).min(1).max(2048),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int()).min(1)).min(1).max(2048),
  ]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: positiveInt.max(8192).optional(),
  user: z.string().optional(),
});

export const parseEmbeddingsRequest = (value: unknown) => parseBody<EmbeddingsRequest>(embeddingsRequestSchema, value);
