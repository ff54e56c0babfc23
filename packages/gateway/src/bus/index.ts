import { type Logger, pino } from 'pino';
import { MemoryBus } from './memory.ts';
import { NatsBus } from './nats.ts';
import type { Bus, BusConfig } from './types.ts';

export { MemoryBus } from './memory.ts';
export { consumerNameFor, DEFAULT_NATS_PREFIX, NatsBus, streamNameFor, subjectFor } from './nats.ts';
export * from './types.ts';

/**
 * Opens the configured bus: in-process by default, NATS JetStream to scale out. A NATS bus that
 * cannot connect or set up its stream rejects with GW_ERR_BUS_UNAVAILABLE.
 */
export async function openBus(config: BusConfig, options: { logger?: Logger } = {}): Promise<Bus> {
  const logger = (options.logger ?? pino({ name: 'gridseam' })).child({ component: 'bus', bus: config.kind });
  switch (config.kind) {
    case 'memory':
      return new MemoryBus(config, logger);
    case 'nats':
      return NatsBus.open(config, logger);
  }
}
