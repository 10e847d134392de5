import { parseDemoGatewayArgs, runDemoGateway, type DemoGatewayOptions } from './demo-gateway.js';

const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

// Standalone entry for the demo gateway (tests and demos run it without the clawfleet CLI).
async function main(): Promise<void> {
  let options: DemoGatewayOptions;
  try {
    options = parseDemoGatewayArgs(process.argv.slice(2));
  } catch (error) {
    return exitWith(EXIT_USAGE, error);
  }
  try {
    process.exit(await runDemoGateway(options));
  } catch (error) {
    exitWith(EXIT_FAILURE, error);
  }
}

function exitWith(code: number, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`demo-gateway: ${message.split('\n')[0] ?? ''}\n`);
  process.exit(code);
}

void main();
