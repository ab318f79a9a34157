import type { LookupFunction } from 'node:net';
import type { Configuration } from 'oidc-provider';
import type { Logger } from 'winston';
import { DestinationRefused, type OutboundPolicy } from '../net/outbound-policy.js';

/** The part of an undici dispatcher used here: its 'connect' event (origin, then the dispatchers down to the client). */
interface ConnectEmitter {
  on(event: 'connect', listener: (origin: URL, targets: readonly object[]) => void): unknown;
}
type AgentConstructor = new (options: { connect: { lookup: LookupFunction } }) => ConnectEmitter;
interface Destroyable {
  destroy(error: Error): void;
}
interface ConnectedSocket extends Destroyable {
  remoteAddress?: string;
}

/**
 * The Agent class of the undici that Node's own fetch runs on, found as oidc-provider finds it
 * (lib/helpers/fetch_request.js): the constructor of the global dispatcher. Reading `Response` first makes Node
 * load its bundled undici, which installs that dispatcher. Undefined where there is none (Jest's VM contexts).
 */
function bundledAgent(): AgentConstructor | undefined {
  void Response;
  const holder = globalThis as unknown as Record<symbol, { constructor?: AgentConstructor } | undefined>;
  const found = (holder[Symbol.for('undici.globalDispatcher.2')] ?? holder[Symbol.for('undici.globalDispatcher.1')])?.constructor;
  // Only a plain Agent: a proxy agent (NODE_USE_ENV_PROXY) does not pass on its connections' 'connect' events,
  // and its sockets reach the proxy, not the destination.
  return typeof found === 'function' && found.name === 'Agent' ? found : undefined;
}

/** The socket of the undici client that has just connected (the last target of a 'connect' event). */
function socketOf(client: object | undefined): ConnectedSocket | undefined {
  if (!client) return undefined;
  const key = Object.getOwnPropertySymbols(client).find((symbol) => symbol.description === 'socket');
  return key === undefined ? undefined : (client as Record<symbol, ConnectedSocket | undefined>)[key];
}

/**
 * A dispatcher that lets a connection carry a request only when the outbound policy allows the address it reached:
 * oidc-provider's own SSRF guard with our rule in place of its list. Two layers: a host name whose addresses the
 * policy refuses is never dialled (the policy's `lookup`), and the connected socket's address is checked before a
 * request goes out (IP literals skip `lookup`; a name that resolves differently the second time gains nothing).
 * A connection whose address cannot be read is destroyed too. Null when it cannot be built.
 */
function policyDispatcher(policy: OutboundPolicy): ConnectEmitter | null {
  try {
    const Agent = bundledAgent();
    if (!Agent) return null;
    const dispatcher = new Agent({ connect: { lookup: policy.lookup } });
    dispatcher.on('connect', (_origin, targets) => {
      const client = targets[targets.length - 1] as Partial<Destroyable> | undefined;
      const socket = socketOf(client);
      if (socket?.remoteAddress !== undefined && policy.allows(socket.remoteAddress)) return;
      (socket ?? client)?.destroy?.(new DestinationRefused());
    });
    return dispatcher;
  } catch {
    return null;
  }
}

export interface OutboundFetchDependencies {
  /** The one outbound policy (src/net/outbound-policy.ts), the one mailbox checks and webhook deliveries obey. */
  policy: OutboundPolicy;
  logger: Logger;
  /** NODE_ENV=production: without our dispatcher, fetches are refused rather than sent unchecked. */
  production: boolean;
}

/**
 * The provider's outbound HTTP (a client's jwks_uri, sector_identifier_uri, back-channel logout tokens) obeys the
 * one outbound policy (src/net/outbound-policy.ts), as mailbox checks and webhook deliveries do: special-use
 * addresses are refused, except loopback when the issuer is on a loopback host and NODE_ENV is not production, and
 * the OUTBOUND_ALLOW_PRIVATE_NETWORKS ranges. oidc-provider hands every call a dispatcher that refuses every
 * special-use address (its SSRF protection); each call gets ours instead, built the same way (Node's undici Agent,
 * created once, a socket destroyed on 'connect' unless the policy allows its address). A refused call fails as an
 * unreachable host does, and oidc-provider reports it as it reports that: `invalid_client` for a client's JWKS,
 * `invalid_client_metadata` for a sector_identifier_uri, a `backchannel.error` event for a logout token.
 * Where our dispatcher cannot be built, oidc-provider's cannot either: in production every such fetch is refused
 * (an error logged once), elsewhere they go unchecked (a warning).
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#fetch
 */
export function outboundFetch({ policy, logger, production }: OutboundFetchDependencies): NonNullable<Configuration['fetch']> {
  const dispatcher = policyDispatcher(policy);
  if (dispatcher) return (input, init) => globalThis.fetch(input, { ...init, dispatcher } as RequestInit);
  // oidc-provider finds the Agent the same way, so its own guard is missing too: nothing would check the address.
  if (production) {
    logger.error("oidc-provider's outbound fetches are refused: Node's undici Agent was not found, so their destination cannot be checked (jwks_uri, sector_identifier_uri and back-channel logout fail)");
    return () => Promise.reject(new DestinationRefused());
  }
  logger.warn("oidc-provider's outbound fetches go unchecked: Node's undici Agent was not found (Jest's VM context, a proxy agent); in production they would be refused");
  return (input, init) => globalThis.fetch(input, init);
}
