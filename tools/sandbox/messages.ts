import { z } from 'zod';
import type { SendMessageBody } from './api-schemas';
import type { MessageStatusOptions, MessageSummary } from './types';

/** Message ids are numeric strings counting up from here (deterministic). */
export const FIRST_MESSAGE_ID = 9001;

export interface StoredMessage {
  id: string;
  request: SendMessageBody;
  createdAt: number;
  /** Reads of `GET /v1/messages/{id}` so far: the position in the status sequence. */
  reads: number;
  /** Set by setMessageStatus(): wins over the sequence. */
  status?: string;
}

/** What `GET /v1/messages/{id}` reports when no sequence is configured (docs/hero-api.md §3.2's sample value). */
const DEFAULT_STATUS = 'delivered';

export const messageStatusSchema = z.string().min(1).max(64);
export const messageStatusOptionsSchema = z.strictObject({ sequence: z.array(messageStatusSchema).min(1).max(100) });

export class MessageStore {
  #messages: StoredMessage[] = [];
  #next = FIRST_MESSAGE_ID;
  #sequence: readonly string[] = [DEFAULT_STATUS];

  create(request: SendMessageBody, now: number): StoredMessage {
    const message: StoredMessage = { id: String(this.#next++), request, createdAt: now, reads: 0 };
    this.#messages.push(message);
    return message;
  }

  get(id: string): StoredMessage | undefined {
    return this.#messages.find((m) => m.id === id);
  }

  /** Oldest first (ascending id), so a page boundary does not move when a message is sent between pages. */
  byPatient(patientId: string | undefined): StoredMessage[] {
    return this.#messages.filter((m) => patientId === undefined || m.request.patient_id === patientId);
  }

  setSequence(opts: MessageStatusOptions | undefined): void {
    this.#sequence = opts ? messageStatusOptionsSchema.parse(opts).sequence : [DEFAULT_STATUS];
  }

  /** Returns false for an unknown message. */
  setStatus(id: string, status: string): boolean {
    const m = this.get(id);
    if (!m) return false;
    m.status = messageStatusSchema.parse(status);
    return true;
  }

  /** One read of the message by id: the next status of the sequence (or the one set), then one step on. */
  read(m: StoredMessage): string {
    const status = m.status ?? this.#at(m.reads);
    m.reads += 1;
    return status;
  }

  /** The status the last read reported (the sequence's first if never read), without reading. */
  current(m: StoredMessage): string {
    return m.status ?? this.#at(m.reads - 1);
  }

  #at(index: number): string {
    return this.#sequence[Math.max(0, Math.min(index, this.#sequence.length - 1))] as string;
  }

  list(): MessageSummary[] {
    return this.#messages.map((m) => ({
      id: m.id,
      patientId: m.request.patient_id,
      messageType: m.request.message_type,
      text: m.request.message_string,
      ...(m.request.short_link_id !== undefined && { shortLinkId: m.request.short_link_id }),
      createdAt: m.createdAt,
      status: this.current(m),
    }));
  }

  reset(): void {
    this.#messages = [];
    this.#next = FIRST_MESSAGE_ID;
  }
}

/** docs/hero-api.md §3.1 response 200 (walkthrough shape). */
export function sentMessageJson(m: StoredMessage) {
  const r = m.request;
  return {
    message_id: m.id,
    content: r.message_string,
    created_at: new Date(m.createdAt).toISOString(),
    snomed_code: r.snomed_code ?? null,
    write_to_record: r.write_to_record ?? false,
    auth_token: null,
    confirm_write_to_record_url: null,
    submitted_by: null,
    send_at: r.send_at ?? null,
  };
}

/** The booking link a message carries, as `GET /v1/messages/{id}` shows it (docs/hero-api.md §3.2). */
export interface MessageLink {
  id: string;
  active: boolean;
}

/**
 * docs/hero-api.md §3.2: `{id, patient: {id}, …}` and a delivery `status` are documented, and Hero's sample also
 * shows `short_link {id, type, name, status}` and `sent_at`; the values of `type`, `name` and the link's `status`
 * are the sandbox's guess. `short_link` is null when the message was sent without `short_link_id`.
 */
export function messageJson(m: StoredMessage, status: string, link: MessageLink | undefined) {
  const r = m.request;
  return {
    id: m.id,
    patient: { id: r.patient_id },
    message_type: r.message_type,
    content: r.message_string,
    status,
    short_link_id: r.short_link_id ?? null,
    short_link: link
      ? { id: link.id, type: 'booking', name: `Booking link ${link.id}`, status: link.active ? 'active' : 'inactive' }
      : null,
    created_at: new Date(m.createdAt).toISOString(),
    sent_at: r.send_at ?? new Date(m.createdAt).toISOString(),
    send_at: r.send_at ?? null,
  };
}
