/**
 * @module review-settings.server
 * The review pages' settings from the web server's environment (the one place that reads it for
 * them): CANDID_GATEWAY_URL, CANDID_API_KEY, CANDID_REVIEW_LOCAL. Kept apart so that the modules
 * using the settings stay testable under bun, which has no `$env`.
 */
import { env } from '$env/dynamic/private';
import { reviewConfig, type ReviewConfig } from './review-api.server.ts';

export function reviewSettings(): ReviewConfig {
  return reviewConfig(env);
}
