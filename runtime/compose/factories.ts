/**
 * The factories a host is built from (createHost, create-host.ts): one per
 * long-lived part that is not the host's own logic. `productionFactories()`
 * is what `qallow start` runs (ZeroMQ, LMDB, the piscina pool); a test
 * swaps any of them (`memoryTransport(network)` for the in-process cluster)
 * in one line. This file and create-host.ts are the only places in runtime/
 * that make a host's transport or ledger store.
 */
import { dirname, join } from 'node:path';
import { ComputePool, type ComputePoolInit } from '../../kernels/pool.js';
import type { LedgerStore } from '../ledger/contract.js';
import { createLmdbLedgerStore } from '../ledger/lmdb-store.js';
import type { BatchCache } from '../ledger/record.js';
import type { ValidatorSet } from '../ledger/validators.js';
import type { Logger } from '../logger.js';
import type { StoreComponents } from '../store/contract.js';
import { createLmdbStore, type LmdbStore, type LmdbStoreInit } from '../store/lmdb.js';
import type { TransportFactory } from '../transport/contract.js';
import { createMemoryTransport, type MemoryNetwork } from '../transport/memory.js';
import { createZmqTransport, type ZmqTransportInit } from '../transport/zmq.js';

export interface LedgerStoreFactoryInit {
  readonly validators: ValidatorSet;
  /** Shared with the governance service (GovernanceComponents.verified). */
  readonly verified: BatchCache;
}

export interface HostFactories {
  /** The host's LMDB environment: runs, checkpoints and (through `ledgerStore`) the ledger, one writer (store/lmdb-writer.ts). */
  readonly store: (init: LmdbStoreInit, components: StoreComponents) => LmdbStore;
  /** The ledger's databases in that environment, with this host's vote log. */
  readonly ledgerStore: (init: LedgerStoreFactoryInit, components: { readonly store: LmdbStore; readonly logger: Logger }) => LedgerStore;
  /** The cluster transport (only made with `config.cluster`). */
  readonly transport: TransportFactory<ZmqTransportInit>;
  readonly pool: (init: ComputePoolInit) => ComputePool;
}

/** The ledger store every host keeps: in the store's environment, its vote log beside it in the data dir. */
export function lmdbLedgerStore(init: LedgerStoreFactoryInit, components: { readonly store: LmdbStore; readonly logger: Logger }): LedgerStore {
  const { store, logger } = components;
  return createLmdbLedgerStore({ validators: init.validators }, { store, logger, verified: init.verified, voteLogDir: join(dirname(store.path), 'votes') });
}

/** What `qallow start` builds a host from. */
export function productionFactories(): HostFactories {
  return {
    store: (init, components) => createLmdbStore(init, components),
    ledgerStore: lmdbLedgerStore,
    transport: (init, components) => createZmqTransport(init, components),
    pool: (init) => new ComputePool(init),
  };
}

/**
 * The cluster transport on an in-process memory network (tests): the
 * host's configured `cluster.bind` is its address there, so peers
 * configured with that address reach it.
 */
export function memoryTransport(network: MemoryNetwork): TransportFactory<ZmqTransportInit> {
  return (init, components) => createMemoryTransport({ ...init, address: init.listen }, { ...components, network });
}
