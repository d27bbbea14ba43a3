/** Route parameter matcher `[x=int]`: a positive integer id (interview_session_id). */
import type { ParamMatcher } from '@sveltejs/kit';
import { indexParam } from '$lib/review/proxy.ts';

export const match: ParamMatcher = (param) => indexParam(param, 1) !== null;
