/**
 * `clawfleet export kubernetes`: per gateway a StatefulSet (one replica, a PVC for its state dir, its
 * probes, stop timeout and env) and a Service; for the fleet a PodDisruptionBudget, so a drain never takes
 * main and rescue down together. Pod anti-affinity keeps main and rescue pods on different nodes.
 *
 * The objects are typed with kubernetes-models (generated from Kubernetes' OpenAPI schema), so a
 * misspelt field is a compile error; the types are erased, nothing of it is loaded at run time.
 */
import { createHash } from 'node:crypto';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IService } from 'kubernetes-models/v1/Service';
import { stringify } from 'yaml';
import type { GatewayPlan, ProbePlan } from '../plan/types.js';
import { ceilSeconds, containerArgs, containerNotes, dataDirs, envFileKeys, type ExportInput, type ExportResult, exportEnv, fleetName } from './common.js';

/** The image placeholder, as in the compose export: a Node >= 24 image with the gateway's command installed. */
export const KUBERNETES_IMAGE = 'node:24-bookworm';
/** What each state claim asks for; OpenClaw's state is small, sessions and memory grow slowly. */
const STATE_STORAGE = '1Gi';
const CONTAINER_PORT_NAME = 'gateway';
/** StatefulSet names leave room for the pod ordinal and the controller-revision-hash label (63 chars). */
const MAX_NAME_LENGTH = 52;

/** Labels every object of the fleet carries. */
export function fleetLabels(fleet: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'clawfleet', 'app.kubernetes.io/instance': labelValue(fleet) };
}

function labelValue(text: string): string {
  const value = text.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return value || 'fleet';
}

/** A DNS-1035 object name for a gateway, unique even when lowercasing or shortening changed it. */
export function objectName(fleet: string, gateway: string): string {
  const wanted = `${fleet}-${gateway}`;
  let name = wanted.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(name)) name = `cf-${name}`;
  if (name === wanted && name.length <= MAX_NAME_LENGTH) return name;
  const hash = createHash('sha256').update(wanted).digest('hex').slice(0, 6);
  return `${name.slice(0, MAX_NAME_LENGTH - 7).replace(/-+$/, '')}-${hash}`;
}

/** `$(VAR)` is expanded by the kubelet in command, args and env values; `$$(` keeps it literal. */
function literal(text: string): string {
  return text.replace(/\$\(/g, '$$$$(');
}

function probeAction(probe: ProbePlan): Pick<IProbe, 'httpGet' | 'tcpSocket' | 'exec'> {
  const action = probe.action;
  if (action.type === 'http') return { httpGet: { path: action.path, port: CONTAINER_PORT_NAME, scheme: 'HTTP' } };
  if (action.type === 'tcp') return { tcpSocket: { port: CONTAINER_PORT_NAME } };
  return { exec: { command: [...action.argv] } };
}

/** A plan probe in Kubernetes' whole seconds; liveness and startup probes must have successThreshold 1. */
export function kubernetesProbe(probe: ProbePlan, kind: 'startup' | 'liveness' | 'readiness'): IProbe {
  return {
    ...probeAction(probe),
    periodSeconds: ceilSeconds(probe.intervalMs),
    timeoutSeconds: ceilSeconds(probe.timeoutMs),
    failureThreshold: Math.max(1, probe.failureThreshold),
    successThreshold: kind === 'readiness' ? Math.max(1, probe.successThreshold) : 1,
  };
}

/**
 * The startup probe: the plan's, or else its liveness probe (without one, clawfleet ends startup at the
 * first passing liveness probe), allowed `startPeriod` to pass before the kubelet restarts the gateway.
 */
export function startupProbe(gateway: GatewayPlan): IProbe | undefined {
  const source = gateway.health.startup ?? gateway.health.liveness;
  if (source === undefined) return undefined;
  const probe = kubernetesProbe(source, 'startup');
  const periodMs = (probe.periodSeconds ?? 1) * 1000;
  return { ...probe, failureThreshold: Math.max(1, Math.ceil(gateway.health.startPeriodMs / periodMs)) };
}

/**
 * Main and rescue never share a node, and no two rescues do: one node going down (or being drained)
 * never takes every rescue, nor main and rescue, with it.
 */
function antiAffinity(fleet: string, gateway: GatewayPlan): IAffinity {
  const selector =
    gateway.role === 'rescue'
      ? { matchLabels: fleetLabels(fleet) }
      : { matchLabels: { ...fleetLabels(fleet), 'clawfleet.dev/role': 'rescue' } };
  return {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: selector }],
    },
  };
}

function quantity(bytes: number): string {
  const mi = 1024 ** 2;
  return bytes % mi === 0 ? `${bytes / mi}Mi` : String(bytes);
}

/** The name of the Secret a gateway's envFile becomes (created by the operator from the file). */
export function secretName(fleet: string, gateway: string): string {
  return `${objectName(fleet, gateway)}-env`;
}

function container(fleet: string, gateway: GatewayPlan, claims: readonly { name: string; dir: string }[]): IContainer {
  const startup = startupProbe(gateway);
  const c: IContainer = {
    name: 'gateway',
    image: KUBERNETES_IMAGE,
    command: [literal(gateway.command)],
    args: containerArgs(gateway).args.map(literal),
    workingDir: gateway.cwd,
    ports: [{ name: CONTAINER_PORT_NAME, containerPort: gateway.port, protocol: 'TCP' }],
    env: Object.entries(exportEnv(gateway)).map(([name, value]) => ({ name, value: literal(value) })),
    volumeMounts: claims.map(({ name, dir }) => ({ name, mountPath: dir })),
  };
  if (gateway.envFile !== undefined) c.envFrom = [{ secretRef: { name: secretName(fleet, gateway.name), optional: false } }];
  if (startup !== undefined) c.startupProbe = startup;
  if (gateway.health.liveness !== undefined) c.livenessProbe = kubernetesProbe(gateway.health.liveness, 'liveness');
  if (gateway.health.readiness !== undefined) c.readinessProbe = kubernetesProbe(gateway.health.readiness, 'readiness');
  if (gateway.memoryLimitBytes !== undefined) c.resources = { limits: { memory: quantity(gateway.memoryLimitBytes) } };
  return c;
}

function claimTemplate(name: string): IPersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: STATE_STORAGE } } },
  };
}

function statefulSet(fleet: string, gateway: GatewayPlan): IStatefulSet {
  const name = objectName(fleet, gateway.name);
  const selector = { ...fleetLabels(fleet), 'clawfleet.dev/gateway': labelValue(gateway.name) };
  const labels = { ...selector, 'clawfleet.dev/role': gateway.role };
  const claims = dataDirs(gateway).map(({ role, dir }) => ({ name: role, dir }));
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, labels },
    spec: {
      // `enabled: false` keeps the gateway in the manifest and runs nothing.
      replicas: gateway.enabled ? 1 : 0,
      serviceName: name,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels },
        spec: {
          containers: [container(fleet, gateway, claims)],
          // Pods may only be restarted always; the kubelet's own backoff (10 s doubling to 5 min) applies.
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: ceilSeconds(gateway.stop.timeoutMs, 0),
          affinity: antiAffinity(fleet, gateway),
          // Nothing of another gateway reaches it: no service-link variables (a Service named like
          // `openclaw-gateway` would inject OPENCLAW_GATEWAY_PORT), no API token.
          enableServiceLinks: false,
          automountServiceAccountToken: false,
        },
      },
      volumeClaimTemplates: claims.map(({ name: claim }) => claimTemplate(claim)),
    },
  };
}

function service(fleet: string, gateway: GatewayPlan): IService {
  const name = objectName(fleet, gateway.name);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels: { ...fleetLabels(fleet), 'clawfleet.dev/gateway': labelValue(gateway.name), 'clawfleet.dev/role': gateway.role } },
    spec: {
      type: 'ClusterIP',
      selector: { ...fleetLabels(fleet), 'clawfleet.dev/gateway': labelValue(gateway.name) },
      ports: [{ name: CONTAINER_PORT_NAME, port: gateway.port, targetPort: CONTAINER_PORT_NAME, protocol: 'TCP' }],
    },
  };
}

/** At most one pod of the fleet voluntarily down at a time: a drain never evicts main and rescue together. */
function disruptionBudget(fleet: string): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: objectName(fleet, 'pdb'), labels: fleetLabels(fleet) },
    spec: { maxUnavailable: 1, selector: { matchLabels: fleetLabels(fleet) } },
  };
}

function yamlDocs(comment: readonly string[], objects: readonly object[]): string {
  const head = comment.map((line) => `# ${line}`.trimEnd()).join('\n');
  return `${head}\n${objects.map((o) => `---\n${stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('')}`;
}

const HEADER = [
  'Probes map one to one (the startup probe allows startPeriod: failureThreshold = ceil(startPeriod / period)),',
  'rounded up to whole seconds. The image is a placeholder: use one with the gateway command on its PATH.',
  'Secrets: an envFile becomes a Secret the pod reads with envFrom; its values are never written here.',
];

/** The objects of a fleet: per gateway a file with its StatefulSet and Service, and the fleet's budget. */
export function exportKubernetes(input: ExportInput): ExportResult {
  const fleet = fleetName(input.plan.manifestPath);
  const files = new Map<string, string>();
  const notes: string[] = [];
  const source = `Generated by \`clawfleet export kubernetes\` from ${input.plan.manifestPath}.`;
  for (const gateway of input.plan.gateways) {
    const name = objectName(fleet, gateway.name);
    const comment = [source, ...HEADER];
    if (gateway.envFile !== undefined) {
      const keys = envFileKeys(input, gateway);
      const create = `kubectl create secret generic ${secretName(fleet, gateway.name)} --from-env-file=${gateway.envFile}`;
      comment.push(`Create its Secret first (keys: ${keys.length > 0 ? keys.join(', ') : 'none'}):`, `  ${create}`);
      notes.push(`${gateway.name}: create its Secret from its envFile before applying: ${create}`);
    }
    files.set(`${name}.yaml`, yamlDocs(comment, [statefulSet(fleet, gateway), service(fleet, gateway)]));
    notes.push(...containerNotes(input, gateway, 'kubernetes'));
    if (gateway.restart.policy !== 'always') {
      notes.push(`${gateway.name}: restart ${gateway.restart.policy} cannot be expressed: a StatefulSet's pods always restart`);
    }
    if (gateway.stop.signal !== 'SIGTERM') notes.push(`${gateway.name}: Kubernetes stops containers with SIGTERM, not ${gateway.stop.signal}`);
    if (gateway.inheritEnv.length > 0) notes.push(`${gateway.name}: inheritEnv (${gateway.inheritEnv.join(', ')}) has no Kubernetes equivalent; add the values to env`);
  }
  files.set('poddisruptionbudget.yaml', yamlDocs([source, 'One pod of the fleet down at a time, so a drain never takes main and rescue together.'], [disruptionBudget(fleet)]));
  notes.push('restart.backoff and exit 78 are not exported: the kubelet restarts with its own backoff');
  if (input.plan.gateways.length > 1) notes.push('the anti-affinity is required: main and rescue need nodes of their own (a one-node cluster schedules only one of them)');
  return { files, notes };
}
