import { chromium, type Browser } from 'playwright-core';
import { services } from './services.js';

/** Debian's chromium, headless. Root in a container: no sandbox. Resolves nothing but loopback, so no test request leaves the machine. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: services.chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
}
