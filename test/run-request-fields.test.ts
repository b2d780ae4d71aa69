import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestFingerprint } from '../src/client/fingerprint';
import { prepareOutreachRequest } from '../src/client/prepare';
import { outreachWorkflowId } from '../src/client/workflow-id';
import { lenientOutreachInputSchema, outreachInputSchema } from '../src/workflows/schemas';
import outreachInputJsonSchema from '../docs/schemas/outreach-input.schema.json';

/**
 * The run's request fields for campaigns (sendWindow, practiceGroupId): optional, without defaults, so a
 * request that has neither keeps the fingerprint and workflow ID it had before them (a re-sent start
 * still finds its run). The pinned values were computed by the code of commit 64cc000, before the fields.
 */
const plain = {
  nhsNumber: '943 476 5919',
  dob: '1970-01-01',
  booking: { appointmentTypeId: '1', locationId: '5' },
  message: { type: 'sms', text: 'Book: {booking_link}' },
} as const;
const full = {
  nhsNumber: '9434765919',
  dob: '1970-01-01',
  booking: {
    appointmentTypeId: '1',
    locationId: '5',
    practitionerId: '7',
    expiryDate: '2026-12-31',
    maximumUseCount: 1,
  },
  message: { type: 'sms', text: 'Book: {booking_link}' },
  verification: { timeout: '3 days', recheckEvery: '1 hour' },
  review: { deadline: '2 days' },
  awaitBooking: {
    window: '14 days',
    recheckEvery: '1 day',
    reminders: [{ after: '3 days', text: 'R {booking_link}' }],
  },
} as const;

const PINNED = [
  {
    request: plain,
    keyed: '3d3e232929fe02e5c1bf1577d70d728dbb3e09af77ca479999cee11c981a175e',
    legacy: '5c26d8a9db89696e044c8548df5b845c845ea17afa27cdba3b9179d95f75eddb',
    workflowId: 'outreach-37914fd4cdacaca6c5e8ecda51515690',
  },
  {
    request: full,
    keyed: '52fe3b30f89000a870bca18e4142162f1d84c7aac38ae91f4c85af742004cece',
    legacy: '24c148ec99439fb28de7ddb70ec67561d14ad498c49c1a4acc0e6b8e8e682959',
    workflowId: 'outreach-6226134ae4888f75e2131feed57d3317',
  },
];

describe('request fields sendWindow and practiceGroupId', () => {
  it('leave the fingerprint and workflow ID of a request without them as they were', () => {
    for (const { request, keyed, legacy, workflowId } of PINNED) {
      const input = outreachInputSchema.parse(request);
      assert.ok(!('sendWindow' in input) && !('practiceGroupId' in input), 'no default added');
      assert.equal(requestFingerprint(input, 'fingerprint-secret'), keyed);
      assert.equal(requestFingerprint(input), legacy);
      assert.equal(outreachWorkflowId(input, { secret: 'id-secret' }), workflowId);
    }
  });

  it('are taken with their defaults, and tell requests apart', () => {
    const input = prepareOutreachRequest({ ...plain, sendWindow: {}, practiceGroupId: ' 1234 ' });
    assert.deepEqual(input.sendWindow, {
      between: '08:00-18:00',
      days: 'mon-fri',
      timezone: 'Europe/London',
    });
    assert.equal(input.practiceGroupId, '1234');
    // The parsed request parses again to itself: what a client sends is what the run reads.
    assert.deepEqual(prepareOutreachRequest(input), input);
    assert.notEqual(requestFingerprint(input, 'fingerprint-secret'), PINNED[0]!.keyed);
    // The lenient schema (older runs' replays) reads them too.
    assert.equal(lenientOutreachInputSchema.parse({ ...plain, practiceGroupId: 'pg-1' }).practiceGroupId, 'pg-1');
  });

  it('are refused when malformed, naming the field and never the value', () => {
    for (const [extra, problem] of [
      [{ sendWindow: { between: '18:00-08:00' } }, /sendWindow\.between: must be two times of day/],
      [{ sendWindow: { days: 'weekdays' } }, /sendWindow\.days: must name weekdays/],
      [{ sendWindow: { timezone: 'Mars/Olympus' } }, /sendWindow\.timezone: must be an IANA time zone/],
      [{ sendWindow: { hours: '1' } }, /sendWindow/],
      [{ practiceGroupId: 'group 7!' }, /practiceGroupId: must be 1-64 letters, digits, _ or -/],
    ] as const) {
      assert.throws(
        () => prepareOutreachRequest({ ...plain, ...extra }),
        (err: Error) => {
          assert.match(err.message, problem);
          assert.ok(!err.message.includes('Mars/Olympus') && !err.message.includes('group 7!'), err.message);
          return true;
        },
      );
    }
  });

  it('are in the JSON Schema, described', () => {
    const props = (outreachInputJsonSchema as { properties: Record<string, { description?: string }> }).properties;
    assert.match(props.sendWindow?.description ?? '', /Sending hours/);
    assert.match(props.practiceGroupId?.description ?? '', /practice group/);
  });
});
