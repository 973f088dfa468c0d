import { goldenSuite } from './helpers/golden-suite.js';

goldenSuite('js');
