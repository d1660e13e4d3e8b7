import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { observe, parseSampleValue } from './prometheus.ts';
import { ProviderError, providerFor, headerRecord } from './provider.ts';
import { parseJsonPath, selectJsonPath, WebProvider } from './web.ts';

const vector = (...values: string[]) => ({ status: 'success', data: { resultType: 'vector', result: values.map((v, i) => ({ metric: { i: String(i) }, value: [1700000000.5, v] })) } });

describe('Prometheus answers', () => {
  it('parses the special values Prometheus spells as strings', () => {
    expect(parseSampleValue('+Inf')).toBe(Infinity);
    expect(parseSampleValue('-Inf')).toBe(-Infinity);
    expect(parseSampleValue('NaN')).toBeNaN();
    expect(parseSampleValue('1e-3')).toBe(0.001);
    expect(() => parseSampleValue('')).toThrow();
    expect(() => parseSampleValue('one')).toThrow();
  });

  it('keeps no data, NaN and values apart', () => {
    expect(observe(vector())).toEqual({ kind: 'missing', reason: 'empty vector', display: '[]' });
    expect(observe(vector('NaN', 'NaN'))).toEqual({ kind: 'missing', reason: 'NaN', display: '[NaN,NaN]', result: [Number.NaN, Number.NaN] });
    expect(observe(vector('NaN', '1'))).toEqual({ kind: 'value', result: [Number.NaN, 1], display: '[NaN,1]' });
    expect(observe({ status: 'success', data: { resultType: 'scalar', result: [1, '+Inf'] } })).toEqual({ kind: 'value', result: Infinity, display: '+Inf' });
  });

  it('refuses answers that are not what Prometheus sends', () => {
    for (const body of [null, 'x', { status: 'error' }, { status: 'success', data: { resultType: 'vector', result: [{ value: [1, 2] }] } }, vector('abc'), { status: 'success', data: { resultType: 'matrix', result: [] } }]) {
      expect(() => observe(body)).toThrow(ProviderError);
    }
  });

  it('never throws anything but ProviderError on arbitrary bodies', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.array(fc.string()).map((vs) => vector(...vs))), (body) => {
        try {
          observe(body);
        } catch (err) {
          expect(err).toBeInstanceOf(ProviderError);
        }
      }),
    );
  });
});

describe('web jsonPath', () => {
  it('reads the forms metric endpoints use', () => {
    const data = { data: { ok: true, items: [{ v: 3 }], 'a b': 1 } };
    expect(selectJsonPath(data, parseJsonPath('{$.data.ok}'))).toBe(true);
    expect(selectJsonPath(data, parseJsonPath('$.data.items[0].v'))).toBe(3);
    expect(selectJsonPath(data, parseJsonPath("$.data['a b']"))).toBe(1);
    expect(selectJsonPath(data, parseJsonPath('$'))).toEqual(data);
    expect(selectJsonPath(data, parseJsonPath('$.data.items[5].v'))).toBeUndefined();
    expect(selectJsonPath(data, parseJsonPath('$.data.constructor'))).toBeUndefined();
    expect(() => parseJsonPath('$.data[?(@.x)]')).toThrow(ProviderError);
  });
});

describe('provider selection and headers', () => {
  it('picks the provider the metric names', () => {
    const web = new WebProvider();
    expect(providerFor({ name: 'm', provider: { web: { url: 'http://127.0.0.1' } } }, [web])).toBe(web);
    expect(() => providerFor({ name: 'm', provider: { job: {} } }, [web])).toThrow(/no provider for job/);
  });

  it('refuses header injection', () => {
    expect(headerRecord('p', [{ key: 'X-A', value: '1' }])).toEqual({ 'X-A': '1' });
    expect(() => headerRecord('p', [{ key: 'X-A', value: '1\r\nEvil: 1' }])).toThrow(ProviderError);
    expect(() => headerRecord('p', [{ key: 'X A', value: '1' }])).toThrow(ProviderError);
  });
});
