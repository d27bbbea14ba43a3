import { describe, expect, test } from 'bun:test';
import { grantKey, isUploadGrant, loadGrant, requestGrant, saveGrant, type UploadGrant } from './upload-grant.ts';

const grant: UploadGrant = { interview_session_id: 7, user_id: 1, token: 'eyJ.a.b', expires_at: '2030-01-01T00:00:00.000Z' };

class MemStorage {
  m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
}

describe('requestGrant', () => {
  test('POSTs to the web app’s own route and returns the grant', async () => {
    const f = (async (url: string, init: RequestInit) => {
      expect(url).toBe('/api/interviews');
      expect(init.method).toBe('POST');
      return new Response(JSON.stringify(grant), { status: 201 });
    }) as unknown as typeof fetch;
    expect(await requestGrant(f)).toEqual(grant);
  });

  test('maps failures to a code and a message', async () => {
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    await expect(requestGrant(down)).rejects.toMatchObject({ code: 'UNREACHABLE' });
    const refused = (async () => new Response(JSON.stringify({ code: 'GATEWAY_UNREACHABLE', message: 'The recording service cannot be reached.' }), { status: 503 })) as unknown as typeof fetch;
    await expect(requestGrant(refused)).rejects.toMatchObject({ code: 'GATEWAY_UNREACHABLE', message: 'The recording service cannot be reached.' });
    const garbage = (async () => new Response('{"token": 5}', { status: 201 })) as unknown as typeof fetch;
    await expect(requestGrant(garbage)).rejects.toMatchObject({ code: 'HTTP_201' });
  });
});

describe('grant storage', () => {
  test('kept per interview; a foreign or broken entry is ignored', () => {
    const s = new MemStorage();
    saveGrant(s, grant);
    expect(s.m.has(grantKey(7))).toBe(true);
    expect(loadGrant(s, 7)).toEqual(grant);
    expect(loadGrant(s, 8)).toBeNull();
    s.setItem(grantKey(8), JSON.stringify(grant)); // names interview 7
    expect(loadGrant(s, 8)).toBeNull();
    s.setItem(grantKey(9), '{not json');
    expect(loadGrant(s, 9)).toBeNull();
  });

  test('isUploadGrant checks the shape', () => {
    expect(isUploadGrant(grant)).toBe(true);
    expect(isUploadGrant({ ...grant, token: '' })).toBe(false);
    expect(isUploadGrant({ ...grant, user_id: '1' })).toBe(false);
    expect(isUploadGrant(null)).toBe(false);
  });
});
