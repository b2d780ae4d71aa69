import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NativeConnection } from '@temporalio/worker';
import { ensureSearchAttributes, SearchAttributeSetupError } from '../src/worker/search-attributes';

/**
 * The refusal paths of the worker's search-attribute check, which no local server produces (a dev
 * server always lets us register): a stand-in operator service answers as Temporal Cloud would.
 * The success paths run against real servers in the workflow and end-to-end suites.
 */
function connectionWith(operatorService: object): NativeConnection {
  return { operatorService } as unknown as NativeConnection;
}

describe('ensureSearchAttributes', () => {
  it('names the command to run when the namespace refuses to register HeroFlowState', async () => {
    const conn = connectionWith({
      listSearchAttributes: async () => ({ customAttributes: {} }),
      addSearchAttributes: async () => {
        throw Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { code: 7 });
      },
    });
    await assert.rejects(ensureSearchAttributes(conn, 'prod-ns'), (err: Error) => {
      assert.ok(err instanceof SearchAttributeSetupError);
      assert.match(err.message, /HeroFlowState/);
      assert.match(
        err.message,
        /temporal operator search-attribute create --namespace prod-ns --name HeroFlowState --type Keyword/,
      );
      assert.match(err.message, /PERMISSION_DENIED/);
      return true;
    });
  });

  it('refuses a HeroFlowState of the wrong type instead of writing to it', async () => {
    const conn = connectionWith({
      listSearchAttributes: async () => ({ customAttributes: { HeroFlowState: 1 /* TEXT */ } }),
      addSearchAttributes: async () => assert.fail('must not try to add'),
    });
    await assert.rejects(ensureSearchAttributes(conn, 'ns'), /wrong type; hero-flow needs Keyword/);
  });

  it('registers nothing when the attributes already exist', async () => {
    const conn = connectionWith({
      listSearchAttributes: async () => ({
        // Keyword 2, Int 3, Datetime 6 (IndexedValueType).
        customAttributes: {
          HeroFlowState: 2,
          HeroBookingLinkId: 2,
          HeroCampaignId: 2,
          HeroRecordId: 2,
          HeroPracticeGroup: 2,
          HeroBookedAt: 6,
          HeroRemindersSent: 3,
          HeroDeliveryStatus: 2,
          HeroReview: 2,
        },
      }),
      addSearchAttributes: async () => assert.fail('must not try to add'),
    });
    assert.deepEqual(await ensureSearchAttributes(conn, 'ns'), []);
  });
});
