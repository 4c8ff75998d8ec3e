/** Entry point the extension host loads: runs the suite with mocha. */
import * as path from 'node:path';
import Mocha from 'mocha';
import { register } from './extension.test';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec' });
  mocha.suite.emit('pre-require', globalThis, path.join(__dirname, 'extension.test.js'), mocha);
  register();
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures ? reject(new Error(`${failures} test(s) failed`)) : resolve()));
  });
}
