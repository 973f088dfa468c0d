import { transportContract } from './fixtures/transport-contract.js';
import { zmqTcpHarness } from './fixtures/transport-harness.js';

transportContract('zmq tcp', zmqTcpHarness);
