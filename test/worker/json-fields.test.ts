import { describe, expect, it } from 'vitest';
import { withTopLevelFields } from '../../proxy/json-fields';

/** Whatever the edit, the result must parse to the same object as setting the fields on the parsed input. */
function expectEquivalent(text: string, fields: Record<string, unknown>) {
  const edited = withTopLevelFields(text, fields);
  expect(edited).not.toBeNull();
  expect(JSON.parse(edited!)).toEqual({ ...JSON.parse(text), ...fields });
  return edited!;
}

describe('withTopLevelFields', () => {
  it('replaces a field in place and leaves every other byte as sent', () => {
    const text = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"1.0 \\u00e9 \\"quoted\\" {not: json} [x]"}],"temperature":1.0}';
    const edited = expectEquivalent(text, { model: 'gpt-4o' });
    expect(edited).toBe(text.replace('"gpt-4o-mini"', '"gpt-4o"'));
  });

  it('adds missing fields at the end, and handles whitespace, nesting and escapes', () => {
    expectEquivalent(' {\n  "stream" : true ,\n  "nested": {"model": "inner", "a": [1, {"b": "}"}]},\n  "model":"x\\\\"  } ', { model: 'y', stream_options: { include_usage: true } });
    expectEquivalent('{}', { model: 'y' });
    expectEquivalent('{"a":null,"b":-1.5e3,"c":false,"d":"\\\\\\""}', { model: 'z' });
  });

  it('refuses what it cannot edit safely', () => {
    expect(withTopLevelFields('{"model":"a","model":"b"}', { model: 'c' })).toBeNull();
    expect(withTopLevelFields('[1,2]', { model: 'c' })).toBeNull();
    expect(withTopLevelFields('{"model":"unterminated}', { model: 'c' })).toBeNull();
  });

  it('is exact on a large body with many strings', () => {
    const messages = Array.from({ length: 500 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i} with "quotes", braces {} and \\ backslashes`.repeat(20) }));
    expectEquivalent(JSON.stringify({ stream: true, model: 'm', messages, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] }), { model: 'openai-model', stream_options: { include_usage: true } });
  });
});
