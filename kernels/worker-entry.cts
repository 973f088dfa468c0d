/**
 * The file piscina loads in each pool worker: CommonJS, so that piscina's
 * `require()` of it is a plain CommonJS load. It loads the ESM worker
 * (worker.ts) with `import()`.
 *
 * Why not hand piscina worker.js itself: piscina first tries `require()` on
 * its filename, which on Node 20.19+ is require(esm). Under load that hit a
 * Node 20 race in require(esm) (a fatal `v8::Module::IsGraphAsync must be
 * used on an instantiated module` from InstantiateSync, which aborts the
 * whole process, not just the task: nodejs/node#59519 and #55782 describe the
 * race). Loading ESM only through `import()` keeps the worker off that path.
 *
 * The import starts when the worker boots, so the first task does not wait
 * for it (the pool keeps min = max workers for that reason); its failure is
 * reported by the tasks that await it.
 */
type Run = (task: unknown) => Promise<unknown>;

const loaded: Promise<Run> = import('./worker.js').then((m) => m.default as Run);
// Handled here so a failed load is not an unhandled rejection at boot; each task rethrows it.
loaded.catch(() => undefined);

async function run(task: unknown): Promise<unknown> {
  return (await loaded)(task);
}

export = run;
