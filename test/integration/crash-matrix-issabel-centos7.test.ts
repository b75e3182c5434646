// Issue 15's property on the issabel-centos7 fixture root: SIGKILL at every failpoint of every step's apply and
// of its rollback; the next apply gives the applied tree, a rollback to the oldest snapshot the tree
// from before (test/helpers/crash-matrix.ts says how).
import { crashMatrixTest } from '../helpers/crash-matrix-test.js';

crashMatrixTest('issabel-centos7');
