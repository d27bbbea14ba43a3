import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';

/** Liveness and readiness of the web server (Kubernetes probes): it serves, so it is ready. */
export const GET: RequestHandler = () => json({ status: 'ok' }, { headers: { 'cache-control': 'no-store' } });
