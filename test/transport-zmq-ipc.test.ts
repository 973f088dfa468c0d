import { transportContract } from './fixtures/transport-contract.js';
import { zmqIpcHarness } from './fixtures/transport-harness.js';

transportContract('zmq ipc', zmqIpcHarness);
