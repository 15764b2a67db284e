import { killMatrix } from './harness/kill-matrix';

killMatrix('admin');
