import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

describe('math', () => {
  test('adds', () => {
    assert.equal(1 + 1, 2);
  });
  test('multiplies', () => {
    assert.equal(2 * 3, 7);
  });
  test('divides by zero', { skip: 'not decided yet' }, () => {});
  test('rounds', { todo: 'needs a spec' }, () => {
    assert.equal(Math.round(2.5), 2);
  });
});

test('strings', async (t) => {
  await t.test('upper', () => {
    assert.equal('a'.toUpperCase(), 'A');
  });
  await t.test('throws', () => {
    throw new Error('boom <&> "quoted"');
  });
});
