/** `clawfleet demo-gateway`: runs the stand-in gateway in this process. */
import { parseDemoGatewayArgs, runDemoGateway } from '../demo-gateway/demo-gateway.js';
import { type CliContext, EXIT } from './context.js';

/** Parses the demo gateway's own options and runs it until it exits. */
export async function runDemoGatewayCommand(args: string[], ctx: CliContext): Promise<number> {
  let options;
  try {
    options = parseDemoGatewayArgs(args);
  } catch (error) {
    ctx.stderr(`demo-gateway: ${(error as Error).message}\n`);
    return EXIT.invalid;
  }
  return runDemoGateway(options);
}
