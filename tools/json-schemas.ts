/**
 * JSON Schemas of hero-flow's Temporal contract, generated from the zod schemas, for clients in
 * other languages. `npm run schemas` rewrites docs/schemas/; `npm test` fails when they drift.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  bookingEventInputSchema,
  bookingEventResultSchema,
  outreachInputSchema,
  outreachResultSchema,
  outreachStatusSchema,
  reviewResolutionSchema,
  reviewResolvedSchema,
  verificationAcceptedSchema,
  verificationCompletedSchema,
} from '../src/workflows/schemas';

export const SCHEMAS_DIR = join(__dirname, '..', 'docs', 'schemas');

interface Entry {
  file: string;
  title: string;
  description: string;
  schema: z.ZodType;
  /** What a caller sends ('input'), or what hero-flow answers ('output'). */
  io: 'input' | 'output';
}

const ENTRIES: Entry[] = [
  {
    file: 'outreach-input.schema.json',
    title: 'patientOutreachWorkflow input',
    description: 'The one argument of workflow type patientOutreachWorkflow (task queue HERO_TASK_QUEUE).',
    schema: outreachInputSchema,
    io: 'input',
  },
  {
    file: 'outreach-result.schema.json',
    title: 'patientOutreachWorkflow result',
    description: 'What a completed patientOutreachWorkflow returns, by outcome.',
    schema: outreachResultSchema,
    io: 'output',
  },
  {
    file: 'status-query.schema.json',
    title: 'status query result',
    description: 'The answer of query "status" (no arguments).',
    schema: outreachStatusSchema,
    io: 'output',
  },
  {
    file: 'verification-completed.schema.json',
    title: 'verificationCompleted signal / confirmVerification update argument',
    description:
      'The optional argument of signal "verificationCompleted" and of update "confirmVerification": the patient has verified.',
    schema: verificationCompletedSchema,
    io: 'input',
  },
  {
    file: 'confirm-verification-result.schema.json',
    title: 'confirmVerification update result',
    description:
      'What update "confirmVerification" answers when the run accepts it (a rejection is an update failure).',
    schema: verificationAcceptedSchema,
    io: 'output',
  },
  {
    file: 'resolve-review.schema.json',
    title: 'resolveReview update argument',
    description: 'The argument of update "resolveReview": an operator\'s decision for a run in needs_review.',
    schema: reviewResolutionSchema,
    io: 'input',
  },
  {
    file: 'resolve-review-result.schema.json',
    title: 'resolveReview update result',
    description: 'What update "resolveReview" answers once the run has applied the decision.',
    schema: reviewResolvedSchema,
    io: 'output',
  },
  {
    file: 'booking-event-input.schema.json',
    title: 'bookingEventWorkflow input',
    description:
      'The one argument of workflow type bookingEventWorkflow, started by the webhook receiver once per delivered ' +
      'appointment event delivery (workflow ID hero-webhook.<event>.<appointment id>.<delivery>, the delivery being ' +
      '32 hex characters of a hash of what Hero signed; earlier receivers left it out).',
    schema: bookingEventInputSchema,
    io: 'input',
  },
  {
    file: 'booking-event-result.schema.json',
    title: 'bookingEventWorkflow result',
    description: 'What bookingEventWorkflow did with the event.',
    schema: bookingEventResultSchema,
    io: 'output',
  },
];

/** Answers may gain fields in later versions: readers must not refuse unknown ones. */
function openObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(openObjects);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !(k === 'additionalProperties' && v === false))
      .map(([k, v]) => [k, openObjects(v)]),
  );
}

/** File name → file text, exactly as committed. */
export function generateSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of ENTRIES) {
    const generated = z.toJSONSchema(e.schema, { io: e.io, unrepresentable: 'any' }) as Record<string, unknown>;
    const { $schema, ...rest } = e.io === 'output' ? (openObjects(generated) as Record<string, unknown>) : generated;
    const doc = { $schema, $id: `hero-flow/${e.file}`, title: e.title, description: e.description, ...rest };
    out.set(e.file, JSON.stringify(doc, null, 2) + '\n');
  }
  return out;
}

if (require.main === module) {
  mkdirSync(SCHEMAS_DIR, { recursive: true });
  for (const [file, text] of generateSchemas()) writeFileSync(join(SCHEMAS_DIR, file), text);
  process.stdout.write(`wrote ${ENTRIES.length} schemas to docs/schemas/\n`);
}
