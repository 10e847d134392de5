/** What a gateway's own OpenClaw config file (JSON5, read only, never written) tells the planner. */
import type { ExplicitPort } from '../plan/footprint.js';
import type { InstanceConfig } from '../plan/plan-fleet.js';

type Json = Record<string, unknown>;

function object(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function portValue(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535 ? value : undefined;
}

/** The browser and canvas-host ports, cdpUrls and default agent workspace an OpenClaw config sets. */
export function extractInstanceConfig(config: unknown, source: string): InstanceConfig {
  const ports: ExplicitPort[] = [];
  const cdpUrls: string[] = [];
  const root = object(config) ?? {};
  const browser = object(root.browser);
  const controlPort = portValue(browser?.controlPort);
  if (controlPort !== undefined) ports.push({ port: controlPort, label: 'browser.controlPort' });
  const canvasPort = portValue(object(root.canvasHost)?.port);
  if (canvasPort !== undefined) ports.push({ port: canvasPort, label: 'canvasHost.port' });
  if (typeof browser?.cdpUrl === 'string') cdpUrls.push(browser.cdpUrl);
  for (const [name, profile] of Object.entries(object(browser?.profiles) ?? {})) {
    const cdpPort = portValue(object(profile)?.cdpPort);
    if (cdpPort !== undefined) ports.push({ port: cdpPort, label: `browser.profiles.${name}.cdpPort` });
    const cdpUrl = object(profile)?.cdpUrl;
    if (typeof cdpUrl === 'string') cdpUrls.push(cdpUrl);
  }
  const workspace = object(object(root.agents)?.defaults)?.workspace;
  // OpenClaw trims it and ignores an empty one.
  const trimmed = typeof workspace === 'string' ? workspace.trim() : '';
  return trimmed !== '' ? { source, ports, cdpUrls, workspace: trimmed } : { source, ports, cdpUrls };
}
