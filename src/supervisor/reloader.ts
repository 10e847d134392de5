/**
 * Re-reads the manifest on an edit, SIGHUP or `clawfleet reload`, one load at a time: a request that
 * arrives during a load is run once after it (latest wins), so no edit is lost or applied out of order.
 */
import type { PlanLoader } from '../manifest/load-isolated.js';
import type { LoadedManifest } from '../manifest/load.js';
import { formatProblem } from '../manifest/problems.js';
import type { Supervisor } from './supervisor.js';

/** What a reload found. */
export interface ReloadOutcome {
  accepted: boolean;
  problems: string[];
  changes: number;
}

export class Reloader {
  private current: Promise<ReloadOutcome> | undefined;
  private queued: { trigger: string; promise: Promise<ReloadOutcome> } | undefined;
  /** The envFile contents of the last accepted manifest. */
  envFiles: LoadedManifest['envFiles'];

  constructor(
    private readonly file: string,
    private readonly display: string,
    private readonly loader: PlanLoader,
    private readonly supervisor: Supervisor,
    private readonly onAccepted: (manifest: LoadedManifest) => void,
    initial: LoadedManifest,
  ) {
    this.envFiles = initial.envFiles;
  }

  /** Loads the manifest and, when it is valid, starts rolling it out; resolves once it was judged. */
  reload(trigger: string): Promise<ReloadOutcome> {
    if (!this.current) {
      this.current = this.once(trigger).finally(() => {
        this.current = undefined;
      });
      return this.current;
    }
    // Requests during a load share one follow-up load, which reads the file as it is then.
    if (!this.queued) {
      const promise = this.current.then(() => {
        const queued = this.queued!;
        this.queued = undefined;
        return this.reload(queued.trigger);
      });
      this.queued = { trigger, promise };
    } else this.queued.trigger = trigger;
    return this.queued.promise;
  }

  private async once(trigger: string): Promise<ReloadOutcome> {
    const result = await this.loader.load(this.file, this.display);
    if (!result.ok) {
      const problems = result.problems.map(formatProblem);
      this.supervisor.rejectManifest(problems, trigger);
      return { accepted: false, problems, changes: 0 };
    }
    this.envFiles = result.manifest.envFiles;
    const changes = this.supervisor.changesFor(result.manifest);
    void this.supervisor.applyManifest(result.manifest, trigger);
    // After applyManifest, which makes the new plan current: schedules and watched files follow it.
    this.onAccepted(result.manifest);
    return { accepted: true, problems: [], changes };
  }
}
