import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageSummary, Sandbox } from '../../tools/sandbox';
import { type BookingPlan, kindOfText } from './scenario';

/** What one patient of a run that waits for the booking did, by the sandbox's clock (ms since epoch). */
export interface PatientRecord {
  workflowId: string;
  patientId: string;
  plan: BookingPlan;
  /** When the first message reached the sandbox, and the link it carried (the one the patient books with). */
  messageAt?: number;
  linkId?: string;
  appointmentId?: string;
  bookedAt?: number;
  cancelledAt?: number;
  /** The sandbox refused the booking or the cancellation (a suite error: it is reported). */
  error?: string;
}

/**
 * The patients of the runs that wait for the booking: each books through the link of the first message it
 * got, at its plan's time after that message reached the sandbox, with or without the webhook, and some
 * cancel later. Everything is read from and done to the sandbox itself, never through hero-flow.
 */
export class Patients {
  readonly records: PatientRecord[];

  constructor(
    private readonly sandbox: Sandbox,
    entries: { workflowId: string; patientId: string; plan: BookingPlan }[],
    private readonly say: (line: string) => void,
  ) {
    this.records = entries.filter((e) => e.plan.book).map((e) => ({ ...e }));
  }

  /** One pass: notices first messages, then books and cancels what is due. */
  tick(now = Date.now()): void {
    const waiting = this.records.filter((r) => r.messageAt === undefined);
    if (waiting.length) {
      const first = new Map<string, MessageSummary>();
      for (const m of this.sandbox.messages()) {
        if (kindOfText(m.text) === 'message' && !first.has(m.patientId)) first.set(m.patientId, m);
      }
      for (const r of waiting) {
        const m = first.get(r.patientId);
        if (m) {
          r.messageAt = m.createdAt;
          r.linkId = m.shortLinkId;
        }
      }
    }
    for (const r of this.records) {
      if (r.messageAt === undefined || r.error) continue;
      try {
        if (r.bookedAt === undefined && now >= r.messageAt + r.plan.bookAfterMs) {
          if (!r.linkId) throw new Error('the message carries no booking link id');
          const a = this.sandbox.book(r.linkId, { notify: r.plan.notify });
          r.appointmentId = a.id;
          r.bookedAt = a.bookingConfirmedAt;
        } else if (
          r.plan.cancel &&
          r.appointmentId !== undefined &&
          r.bookedAt !== undefined &&
          r.cancelledAt === undefined &&
          now >= r.bookedAt + r.plan.cancelAfterMs
        ) {
          r.cancelledAt = this.sandbox.cancelAppointment(r.appointmentId, { notify: true }).cancelledAt;
        }
      } catch (err) {
        r.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        this.say(`patient of ${r.workflowId}: the sandbox refused: ${r.error}`);
      }
    }
  }

  /** Ticks every 250 ms until `stop()` says so. */
  async run(stop: () => boolean): Promise<void> {
    while (!stop()) {
      this.tick();
      await sleep(250);
    }
  }
}
