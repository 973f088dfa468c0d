/** The cluster transport (SPEC §6): see README.md in this folder. */
export * from './contract.js';
export { DEFAULT_FRAME_LIMITS, WIRE_VERSION, decodeFrame, decodeFrames, encodeBatch, encodeEnvelope, type BadFrameKind } from './envelope.js';
export { WIRE_TYPES, type ActorAsk, type ActorReply, type ActorTell, type BroadcastType, type DirectedType, type Heartbeat, type SyncPulse, type WireBodies, type WireError, type WireType, type WireValue } from './messages.js';
export { createMemoryNetwork, createMemoryTransport, type MemoryNetwork, type MemoryTransportComponents } from './memory.js';
export { createZmqTransport, type ZmqTransport, type ZmqTransportInit } from './zmq.js';
export { isCurveKey, z85Decode, z85Encode } from './curve.js';
export type { TransportComponents } from './core.js';
