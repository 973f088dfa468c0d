/**
 * The composition root: `createHost(init, components)` builds one host
 * from its configuration and the components it is handed. Every long-lived
 * part that is not the host's own logic is made by a factory in
 * `components.factories`, defaulting to the production set
 * (factories.ts): `qallow start` calls this with none, a test hands in
 * `memoryTransport(network)` and gets N hosts in one process
 * (test/helpers/hosts.ts).
 */
import type { HostConfig } from '../../config/schema.js';
import { Host, type HostComponents } from '../host.js';
import { productionFactories, type HostFactories } from './factories.js';

export interface CreateHostComponents extends Omit<HostComponents, 'factories'> {
  /** Factories to use instead of the production ones (any subset). */
  readonly factories?: Partial<HostFactories> | undefined;
}

export function createHost(init: HostConfig, components: CreateHostComponents): Host {
  return new Host(init, { ...components, factories: { ...productionFactories(), ...components.factories } });
}
