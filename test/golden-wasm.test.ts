import { goldenSuite } from './helpers/golden-suite.js';

goldenSuite('wasm');
