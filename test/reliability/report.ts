/** The reliability suite's figures, printed as a table and written as JSON. */
export interface ReliabilityReport {
  seed: number;
  runs: number;
  mix: Record<string, number>;
  workerKills: number;
  workerUnexpectedExits: number;
  serverRestarts: number;
  /** What the chaos schedule set out to do; fewer kills or restarts fail the suite. */
  plannedChaos: { kills: number; restarts: number };
  /** Why the chaos fell short of the plan, if it did. */
  chaosShortfall: string[];
  /** Open runs at the moment of each kill or restart. */
  chaos: { at: string; event: string; openRuns: number }[];
  faultsInjected: Record<string, number>;
  outcomes: Record<string, number>;
  failures: { workflowId: string; kind: string; failureType: string; message: string }[];
  lostRuns: { workflowId: string; kind: string; expected: string; got: string }[];
  verificationsDelivered: Record<string, number>;
  /** Runs the workflow stopped for review after an uncertain create/send, and whether Hero had acted. */
  needsReview: { workflowId: string; step: string; heroActed: boolean; reason: string }[];
  /** Patients with more than one link or message, and their create/send requests (status/fault). */
  duplicates: { workflowId: string; links: number; messages: number; requests: string[] }[];
  duplicateLinks: number;
  duplicateMessages: number;
  patientsWithDuplicateLinks: number;
  patientsWithDuplicateMessages: number;
  /** Completed runs whose message (by the id the run returned) the sandbox does not hold for their patient. */
  completedWithoutMessage: { workflowId: string; messageId: string }[];
  /** needs_review runs with neither an uncertain request in the sandbox's log nor a crash while open. */
  unexplainedReviews: { workflowId: string; step: string; reason: string }[];
  duplicatesNote: string;
  wallTimeSeconds: number;
  passed: number;
  failed: number;
}

const fmt = (r: Record<string, number>) =>
  Object.keys(r).length === 0
    ? '(none)'
    : Object.entries(r)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');

export function formatTable(r: ReliabilityReport): string {
  const faultsTotal = Object.values(r.faultsInjected).reduce((a, b) => a + b, 0);
  const rows: [string, string][] = [
    ['runs', `${r.runs} (${fmt(r.mix)}), seed ${r.seed}`],
    [
      'worker kills (SIGKILL)',
      `${r.workerKills} of ${r.plannedChaos.kills} planned (+ ${r.workerUnexpectedExits} unexpected worker exits, restarted)`,
    ],
    ['Temporal server restarts', `${r.serverRestarts} of ${r.plannedChaos.restarts} planned`],
    ['chaos events', r.chaos.map((c) => `${c.at} ${c.event} (${c.openRuns} open)`).join('; ')],
    ['faults injected', `${faultsTotal}: ${fmt(r.faultsInjected)}`],
    ['outcomes', fmt(r.outcomes)],
    ['verification delivered by', fmt(r.verificationsDelivered)],
    [
      'needs_review (uncertain create/send)',
      `${r.needsReview.length} (Hero had acted: ${r.needsReview.filter((v) => v.heroActed).length}, had not: ${
        r.needsReview.filter((v) => !v.heroActed).length
      })`,
    ],
    [
      'failed runs',
      r.failures.length === 0 ? '0' : r.failures.map((f) => `${f.workflowId} ${f.failureType}`).join('; '),
    ],
    ['lost runs (not closed / wrong outcome)', String(r.lostRuns.length)],
    ['duplicate booking links', `${r.duplicateLinks} (patients affected: ${r.patientsWithDuplicateLinks})`],
    ['duplicate messages', `${r.duplicateMessages} (patients affected: ${r.patientsWithDuplicateMessages})`],
    ['completed runs without their message', String(r.completedWithoutMessage.length)],
    ['needs_review with no uncertain request or crash', String(r.unexplainedReviews.length)],
    ['wall time', `${r.wallTimeSeconds.toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v}`);
  const rule = `+${'-'.repeat(width + 2)}+${'-'.repeat(60)}`;
  return [rule, ...lines, rule].join('\n');
}
