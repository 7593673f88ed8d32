import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

describe('strings', () => {
  test('upper', () => assert.equal('a'.toUpperCase(), 'A'));
  test('trim', () => assert.equal(' a '.trim(), 'a'));
  test('repeat', { skip: 'covered elsewhere' }, () => {});
});

test('split', async (t) => {
  await t.test('comma', () => assert.deepEqual('a,b'.split(','), ['a', 'b']));
  await t.test('empty', () => assert.deepEqual(''.split(','), ['']));
});
