import { describe, expect, it } from 'vitest';
import { withTopLevelFields, withTopLevelFieldsInBytes } from '../../proxy/http/json-fields';

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
    expectEquivalent(' {\n  "stream" : true ,\n  "nested": {"model": "inner", "a": [1, {"b": "}"}]},\n  "model":"x\\\\"  } ', {
      model: 'y',
      stream_options: { include_usage: true },
    });
    expectEquivalent('{}', { model: 'y' });
    expectEquivalent('{"a":null,"b":-1.5e3,"c":false,"d":"\\\\\\""}', { model: 'z' });
  });

  it('refuses what it cannot edit safely', () => {
    expect(withTopLevelFields('{"model":"a","model":"b"}', { model: 'c' })).toBeNull();
    expect(withTopLevelFields('[1,2]', { model: 'c' })).toBeNull();
    expect(withTopLevelFields('{"model":"unterminated}', { model: 'c' })).toBeNull();
  });

  it('is exact on a large body with many strings', () => {
    const messages = Array.from({ length: 500 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `message ${i} with "quotes", braces {} and \\ backslashes`.repeat(20),
    }));
    expectEquivalent(
      JSON.stringify({ stream: true, model: 'm', messages, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] }),
      { model: 'openai-model', stream_options: { include_usage: true } },
    );
  });
});

describe('withTopLevelFieldsInBytes', () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

  it('makes the same edit as the text version, byte for byte, whatever the characters before and after', () => {
    const wide = 'é ü 中文 🦊 \\u00e9 "q" ';
    const bodies = [
      JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: wide.repeat(50) }] }),
      JSON.stringify({ messages: [{ role: 'user', content: wide.repeat(50) }], model: 'cheap', stream: true }),
      JSON.stringify({
        messages: [{ role: 'user', content: wide.repeat(50) }],
        model: 'cheap',
        tools: [],
        stream_options: { include_usage: false },
        user: wide,
      }),
      `{ "messages": [{"role": "user", "content": "${'🦊'.repeat(300)}"}] , "model" : "x"  \n}`,
      '{}',
    ];
    for (const text of bodies) {
      for (const fields of [{ model: 'gpt-4o-mini' }, { model: 'ü-model', stream_options: { include_usage: true } }, { prompt_cache_key: 'tenant-🦊' }]) {
        const edited = withTopLevelFieldsInBytes(text, encode(text), fields);
        expect(edited).not.toBeNull();
        expect(decode(edited!)).toBe(withTopLevelFields(text, fields));
        expect(JSON.parse(decode(edited!))).toEqual({ ...JSON.parse(text), ...fields });
      }
    }
  });

  it('refuses what the text version refuses', () => {
    const text = '{"model":"a","model":"b"}';
    expect(withTopLevelFieldsInBytes(text, encode(text), { model: 'c' })).toBeNull();
  });
});
