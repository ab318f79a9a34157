import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/**
 * `Alexa.Authorization.AcceptGrant`, as Alexa sends it to the skill when a user enables it (or relinks):
 * https://developer.amazon.com/en-US/docs/alexa/device-apis/alexa-authorization.html
 * Objects are not strict: Alexa may add fields.
 */
export const acceptGrantDirective = z.object({
  header: z.object({
    namespace: z.literal('Alexa.Authorization'),
    name: z.literal('AcceptGrant'),
    messageId: z.string().min(1).max(512),
    payloadVersion: z.string().min(1).max(8),
  }),
  payload: z.object({
    grant: z.object({ type: z.literal('OAuth2.AuthorizationCode'), code: z.string().min(1).max(4096) }),
    grantee: z.object({ type: z.literal('BearerToken'), token: z.string().min(1).max(4096) }),
  }),
});

/** The skill backend may forward the whole request envelope (`{ directive }`) or just the directive. */
export const acceptGrantBody = z.union([z.object({ directive: acceptGrantDirective }).transform((body) => body.directive), acceptGrantDirective]);

export type AcceptGrantDirective = z.output<typeof acceptGrantDirective>;

/** The answer the skill returns to Alexa on success (`AcceptGrant.Response`, empty payload). */
export const acceptGrantResponse = () => ({
  event: {
    header: { namespace: 'Alexa.Authorization', name: 'AcceptGrant.Response', messageId: randomUUID(), payloadVersion: '3' },
    payload: {},
  },
});

/** The answer the skill returns to Alexa on failure (`ErrorResponse` of type `ACCEPT_GRANT_FAILED`). */
export const acceptGrantFailed = (message: string) => ({
  event: {
    header: { namespace: 'Alexa.Authorization', name: 'ErrorResponse', messageId: randomUUID(), payloadVersion: '3' },
    payload: { type: 'ACCEPT_GRANT_FAILED', message },
  },
});
