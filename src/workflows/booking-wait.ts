import { condition, isCancellation, upsertSearchAttributes } from '@temporalio/workflow';
import { HERO_BOOKING_LINK_ID } from '../shared/search-attributes';
import { nextOpening } from '../shared/send-window';
import { takes } from './patches';
import { type SendContext, sendWindowSummary, sendWithReconcile } from './review';
import {
  type AppointmentSummary,
  type AwaitBooking,
  DEFAULT_BOOKING_WINDOW_MS,
  DURATION_BOUNDS,
  type OutreachResult,
} from './schemas';

/** Indexes the run by its booking link, so that an appointment event finds it. */
export function indexBookingLink(bookingLinkId: string): void {
  upsertSearchAttributes([{ key: HERO_BOOKING_LINK_ID, value: bookingLinkId }]);
}

/** The end of the link's expiry date (a YYYY-MM-DD day, UTC), as the sandbox and docs/hero-api.md §2.3 read it. */
function endOfDay(date: string): number {
  return Date.parse(`${date}T23:59:59.999Z`);
}

/**
 * After the message: waits in `awaiting_booking` until the patient books or the window closes. A booking
 * is learnt from an appointment webhook (signal bookingEvent) or, when none comes, from the link's use
 * count, read every `recheckEvery` and right before each reminder. Once booked the run follows the
 * appointment until the window closes: a cancellation puts it back to `awaiting_booking` (and reminders
 * resume), a reschedule updates it.
 */
export async function awaitBooking(
  ctx: SendContext,
  options: AwaitBooking,
  firstSentAt: number,
): Promise<OutreachResult> {
  const { run, bookingLink, patientId, hero } = ctx;
  const sendWindow = ctx.input.sendWindow;
  const expiry = ctx.input.booking.expiryDate;
  let windowMs =
    options.window ?? (expiry !== undefined ? Math.max(0, endOfDay(expiry) - firstSentAt) : DEFAULT_BOOKING_WINDOW_MS);
  // A window taken from a far expiryDate is cut to the longest the product supports, as an explicit one is
  // (and an older run's unbounded one, e.g. 1e16 ms, which could not even be written as a date).
  if (windowMs > DURATION_BOUNDS.bookingWindow && takes('boundedDurations')) windowMs = DURATION_BOUNDS.bookingWindow;
  const windowEnd = firstSentAt + windowMs;
  let appointment: AppointmentSummary | undefined;
  /** Link uses that belong to bookings since cancelled: the use count must exceed it to mean a booking. */
  let cancelledUses = 0;
  const cancelledIds = new Set<string>();
  let nextRecheck = Date.now() + options.recheckEvery;
  let remindersSent = 0;
  let nextReminder = 0;

  const setBooked = (a: AppointmentSummary | undefined) => {
    appointment = a;
    run.booked(a);
  };

  /**
   * An appointment whose event may not tell its current state (a reschedule may be overtaken by a later
   * one, a booking first known from the link's use count): read from Hero before the run goes on.
   */
  let toRead: string | undefined;
  const readLater = (appointmentId: string) => {
    if (takes('appointmentEventsByLink')) toRead = appointmentId;
  };
  const readAppointment = async (appointmentId: string) => {
    try {
      const current = await hero.getAppointment({ appointmentId });
      if (appointment?.id === appointmentId && current.linkId === bookingLink.id) {
        setBooked({ id: appointmentId, confirmedAt: current.bookingConfirmedAt, startTime: current.startTime });
      }
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Unreadable now: the run keeps what the event said.
    }
  };

  const applyEvents = () => {
    for (const e of run.takeBookingEvents()) {
      if (e.bookingLinkId !== bookingLink.id) continue;
      const details = { confirmedAt: e.confirmedAt ?? null, startTime: e.startTime ?? null };
      switch (e.event) {
        case 'appointment.confirmed':
          // A cancellation may overtake its confirmation (deliveries can be reordered).
          if (cancelledIds.has(e.appointmentId)) break;
          if (appointment?.id !== e.appointmentId) {
            const learntFromLink = appointment?.id === null;
            setBooked({ id: e.appointmentId, ...details });
            if (learntFromLink) readLater(e.appointmentId);
          }
          break;
        case 'appointment.cancelled':
          if (cancelledIds.has(e.appointmentId)) break;
          cancelledIds.add(e.appointmentId);
          cancelledUses = cancelledIds.size;
          if (appointment && (appointment.id === e.appointmentId || appointment.id === null)) setBooked(undefined);
          break;
        case 'appointment.rescheduled':
          if (appointment?.id === e.appointmentId) {
            setBooked({ ...appointment, startTime: details.startTime });
            readLater(e.appointmentId);
          } else if (
            (appointment === undefined || appointment.id === null) &&
            !cancelledIds.has(e.appointmentId) &&
            takes('appointmentEventsByLink')
          ) {
            // The booking the link's use count told of (or whose confirmation is late): its link is this run's.
            setBooked({ id: e.appointmentId, ...details });
            readLater(e.appointmentId);
          }
          break;
      }
    }
  };

  /** Whether the link's use count says the patient booked (no webhook came, or it is late). */
  const linkWasUsed = async (beforeReminder = false): Promise<boolean> => {
    try {
      const state = await hero.checkBookingLink({ bookingLinkId: bookingLink.id }, { beforeReminder });
      // Cancellations signalled while the link was read count too: compare after applying them.
      applyEvents();
      return !appointment && state.numberOfUses > cancelledUses;
    } catch (err) {
      if (isCancellation(err)) throw err;
      return false; // Unreadable now; asked again at the next re-check.
    }
  };

  run.bookingWindowOpened(windowEnd, bookingLink.id);
  run.set('awaiting_booking');
  for (;;) {
    applyEvents();
    const now = Date.now();
    if (now >= windowEnd) break;
    if (toRead !== undefined) {
      const appointmentId = toRead;
      toRead = undefined;
      await readAppointment(appointmentId);
      continue;
    }
    const reminder = options.reminders[nextReminder];
    const reminderDue = reminder ? firstSentAt + reminder.after : Number.POSITIVE_INFINITY;
    // Due outside the sending hours: at their next opening, and not at all once the window has closed.
    const reminderAt = reminder && sendWindow ? nextOpening(reminderDue, sendWindow) : reminderDue;
    if (!appointment && (now >= nextRecheck || now >= reminderAt)) {
      const used = await linkWasUsed(now >= reminderAt);
      nextRecheck = Date.now() + options.recheckEvery;
      applyEvents();
      if (!appointment && used) {
        setBooked({ id: null, confirmedAt: null, startTime: null });
        continue;
      }
      if (!appointment && reminder && Date.now() >= reminderAt) {
        nextReminder++;
        // A reminder sent again after an uncertain attempt goes only if the patient has still not booked
        // and the window is still open.
        const stillWanted = async () => {
          applyEvents();
          if (appointment || Date.now() >= windowEnd) return false;
          if (await linkWasUsed(true)) {
            setBooked({ id: null, confirmedAt: null, startTime: null });
            return false;
          }
          return !appointment;
        };
        const out = await sendWithReconcile(ctx, 'reminder', reminder.text, stillWanted, () => cancelledUses);
        if (out.sent === 'skipped') {
          if (out.linkUses !== undefined) {
            // Its link used by the time of the send: booked, as a re-check would have found; unless a
            // cancellation heard meanwhile accounts for the use (the send found more uses than were known
            // cancelled then, so no more than now means more are known now). Either way the reminder was
            // not sent, so it stays due: now, or once a cancellation comes, as after a re-check's booking.
            applyEvents();
            if (!appointment && out.linkUses > cancelledUses)
              setBooked({ id: null, confirmedAt: null, startTime: null });
            if (!appointment || takes('reminderDueAfterLinkUsed')) nextReminder--;
          }
          // Skipped after waiting for the sending hours: the run waits for the booking again.
          if (run.status.state === 'awaiting_send_window') run.set(appointment ? 'booked' : 'awaiting_booking');
          continue;
        }
        if (!out.sent) return out.result;
        remindersSent++;
        applyEvents();
        run.set(appointment ? 'booked' : 'awaiting_booking');
      }
      continue;
    }
    // A reminder held for the sending hours wakes the run at its due time too, so that it says it waits.
    const reminderWake = now < reminderDue ? reminderDue : reminderAt;
    const wakeAt = appointment ? windowEnd : Math.min(windowEnd, nextRecheck, reminderWake);
    // A reminder due, held for the sending hours: the run says so (and still takes a booking meanwhile).
    const held = sendWindow && !appointment && now >= reminderDue && reminderAt < windowEnd;
    if (held) run.awaitingSendWindow(reminderAt);
    else if (run.status.state === 'awaiting_send_window') run.set(appointment ? 'booked' : 'awaiting_booking');
    await condition(() => run.bookingEventsPending, wakeAt - now, {
      summary: held
        ? `${sendWindowSummary(reminderAt, sendWindow)} · then a reminder · window closes ${new Date(windowEnd).toISOString()}`
        : waitSummary(
            run.status.state,
            windowEnd,
            appointment ? undefined : reminderAt,
            appointment ? undefined : nextRecheck,
          ),
    });
  }

  // A booking made since the last re-check, whose webhook never came, would otherwise be missed: read
  // the link once more before saying the patient did not book.
  if (!appointment && (await linkWasUsed())) setBooked({ id: null, confirmedAt: null, startTime: null });
  applyEvents();

  const messages = [...run.messages];
  if (appointment) {
    run.set('booked');
    return { outcome: 'booked', patientId, bookingLink, appointment, messages, remindersSent };
  }
  run.set('not_booked');
  return { outcome: 'not_booked', patientId, bookingLink, messages, remindersSent };
}

function waitSummary(state: string, windowEnd: number, reminderAt?: number, recheckAt?: number): string {
  const parts = [`State: ${state}`, `window closes ${new Date(windowEnd).toISOString()}`];
  if (reminderAt !== undefined && Number.isFinite(reminderAt) && reminderAt < windowEnd) {
    parts.push(`next reminder ${new Date(reminderAt).toISOString()}`);
  }
  if (recheckAt !== undefined && recheckAt < windowEnd)
    parts.push(`re-check of the link ${new Date(recheckAt).toISOString()}`);
  return parts.join(' · ');
}
