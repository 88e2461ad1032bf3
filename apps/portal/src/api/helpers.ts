import type { z } from '@hono/zod-openapi';
import { ErrorSchema } from './schemas';

/** A JSON response entry for a route definition. */
export function jsonResponse<T extends z.ZodType>(schema: T, description = 'OK') {
  return { content: { 'application/json': { schema } }, description };
}

/** A required JSON request body. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { content: { 'application/json': { schema } }, required: true };
}

/** An optional JSON body (action endpoints): if one is sent it must be `{}`. */
export function optionalBody<T extends z.ZodType>(schema: T) {
  return { content: { 'application/json': { schema } }, required: false };
}

const err = (description: string) => jsonResponse(ErrorSchema, description);

/** The error responses every protected route can give. */
export const ERRORS = {
  400: err('Invalid request (PORTAL_VALIDATION)'),
  401: err('Not logged in (PORTAL_UNAUTHENTICATED)'),
  403: err('Not allowed (PORTAL_FORBIDDEN, PORTAL_CSRF)'),
  404: err('Not found (PORTAL_NOT_FOUND)'),
  409: err('Conflict (PORTAL_CONFLICT)'),
  503: err('Directory unreachable (PORTAL_DIRECTORY_UNAVAILABLE)'),
} as const;

/** Security requirement: a session cookie (plus CSRF header on writes) or an API token. */
export const SECURITY: Record<string, string[]>[] = [{ session: [] }, { token: [] }];

/** 204 response. */
export const NO_CONTENT = { 204: { description: 'Done' } } as const;
