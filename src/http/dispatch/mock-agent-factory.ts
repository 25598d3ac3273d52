/**
 * mockAgentFactory: a `dispatcherFactory` for tests that sends every request of a weft client
 * through an undici `MockAgent`, exactly as `request(url, { dispatcher: mockAgent })` would: its
 * interceptors (`mockAgent.get(origin).intercept(...)`), its net-connect rules and its call
 * history. It lends the agent to each endpoint without handing it over: weft closes an endpoint's
 * dispatcher when the endpoint leaves discovery or the client closes, and here that close does
 * nothing, because the MockAgent owns its MockPools. Closing one (`MockPool.close()`) would drop
 * it from the agent with its interceptors, so `assertNoPendingInterceptors()` after
 * `client.close()` would pass for want of anything to check. Close the MockAgent yourself.
 * It adds one call per request (the MockAgent's own dispatch); it is meant for tests only.
 */
import { Dispatcher, type MockAgent } from 'undici';
import { ConfigError } from '../../core/errors.js';
import type { DispatcherFactory } from '../transport/transport.js';
import { destroyCallback, promiseOrCallback } from './dispatcher-callbacks.js';

/**
 * A {@link DispatcherFactory} that routes every endpoint's requests through `mockAgent` and never
 * closes it (close the MockAgent yourself, after your assertions). See docs/testing.md.
 *
 * ```ts
 * const mockAgent = new MockAgent();
 * mockAgent.disableNetConnect();
 * mockAgent.get('http://127.0.0.1:8080').intercept({ path: '/users/1' }).reply(200, { id: 1 });
 * const client = createHttpClient({
 *   endpoints: ['127.0.0.1:8080'],
 *   dispatcherFactory: mockAgentFactory(mockAgent),
 * });
 * ```
 */
export function mockAgentFactory(mockAgent: Pick<MockAgent, 'dispatch'>): DispatcherFactory {
  if (
    mockAgent === null ||
    typeof mockAgent !== 'object' ||
    typeof (mockAgent as { dispatch?: unknown }).dispatch !== 'function'
  ) {
    throw new ConfigError('mockAgent', mockAgent, 'expected an undici MockAgent');
  }
  const lent = new LentMockAgent(mockAgent);
  return () => lent;
}

/** The MockAgent as one endpoint's dispatcher: dispatch goes to the agent, close leaves it open. */
class LentMockAgent extends Dispatcher {
  readonly #agent: Pick<MockAgent, 'dispatch'>;

  constructor(agent: Pick<MockAgent, 'dispatch'>) {
    super();
    this.#agent = agent;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#agent.dispatch(options, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    return promiseOrCallback(Promise.resolve(), callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    return promiseOrCallback(Promise.resolve(), destroyCallback(a, b));
  }
}
