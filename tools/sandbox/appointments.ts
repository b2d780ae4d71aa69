import type { AppointmentSummary } from './types';

/** Appointment ids are numeric strings counting up from here (deterministic). */
export const FIRST_APPOINTMENT_ID = 7001;

/** Minutes; Hero's `duration` unit is not in docs/hero-api.md, and nothing in hero-flow reads it. */
const DURATION = 15;

export interface StoredAppointment {
  id: string;
  linkId: string;
  patientId: string | undefined;
  practitionerId: string | undefined;
  locationId: string;
  appointmentTypeId: string;
  startTime: string;
  bookingConfirmedAt: number;
  cancelledAt: number | undefined;
}

export type NewAppointment = Omit<StoredAppointment, 'id' | 'cancelledAt'>;

export class AppointmentStore {
  #appointments: StoredAppointment[] = [];
  #next = FIRST_APPOINTMENT_ID;

  create(input: NewAppointment): StoredAppointment {
    const appointment: StoredAppointment = { ...input, id: String(this.#next++), cancelledAt: undefined };
    this.#appointments.push(appointment);
    return appointment;
  }

  get(id: string): StoredAppointment | undefined {
    return this.#appointments.find((a) => a.id === id);
  }

  list(): AppointmentSummary[] {
    return this.#appointments.map(appointmentSummary);
  }

  reset(): void {
    this.#appointments = [];
    this.#next = FIRST_APPOINTMENT_ID;
  }
}

export function appointmentSummary(a: StoredAppointment): AppointmentSummary {
  return {
    id: a.id,
    linkId: a.linkId,
    ...(a.patientId !== undefined && { patientId: a.patientId }),
    startTime: a.startTime,
    status: a.cancelledAt === undefined ? 'confirmed' : 'cancelled',
    bookingConfirmedAt: a.bookingConfirmedAt,
    ...(a.cancelledAt !== undefined && { cancelledAt: a.cancelledAt }),
  };
}

/**
 * The fields docs/hero-api.md §2.6 lists for `GET /v1/appointments/{id}`. `link_id` is the booking link's `id`
 * (INFERRED there); the values of the flags are the sandbox's choice. Hero documents no status field, so a
 * cancelled appointment shows only as one that can no longer be cancelled or rescheduled.
 */
export function appointmentJson(a: StoredAppointment) {
  const open = a.cancelledAt === undefined;
  return {
    id: a.id,
    patient_id: a.patientId ?? null,
    practitioner_id: a.practitionerId ?? null,
    location_id: a.locationId,
    appointment_type_id: a.appointmentTypeId,
    duration: DURATION,
    start_time: a.startTime,
    link_id: a.linkId,
    reserved_until: null,
    booking_confirmed_at: new Date(a.bookingConfirmedAt).toISOString(),
    can_be_cancelled: open,
    can_be_rescheduled: open,
    cancellation_policy_hours: 24,
    suppress_mail: false,
    video: false,
    in_person: true,
    telephone: false,
  };
}
