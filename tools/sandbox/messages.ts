import type { SendMessageBody } from './api-schemas';
import type { MessageSummary } from './types';

/** Message ids are numeric strings counting up from here (deterministic). */
export const FIRST_MESSAGE_ID = 9001;

interface StoredMessage {
  id: string;
  request: SendMessageBody;
  createdAt: number;
}

export class MessageStore {
  #messages: StoredMessage[] = [];
  #next = FIRST_MESSAGE_ID;

  create(request: SendMessageBody, now: number): StoredMessage {
    const message: StoredMessage = { id: String(this.#next++), request, createdAt: now };
    this.#messages.push(message);
    return message;
  }

  get(id: string): StoredMessage | undefined {
    return this.#messages.find((m) => m.id === id);
  }

  list(): MessageSummary[] {
    return this.#messages.map((m) => ({
      id: m.id,
      patientId: m.request.patient_id,
      messageType: m.request.message_type,
      text: m.request.message_string,
      ...(m.request.short_link_id !== undefined && { shortLinkId: m.request.short_link_id }),
      createdAt: m.createdAt,
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

/** docs/hero-api.md §3.2: only `{id, patient: {id}, …}` is documented; the rest is the sandbox's guess. */
export function messageJson(m: StoredMessage) {
  const r = m.request;
  return {
    id: m.id,
    patient: { id: r.patient_id },
    message_type: r.message_type,
    content: r.message_string,
    short_link_id: r.short_link_id ?? null,
    created_at: new Date(m.createdAt).toISOString(),
    send_at: r.send_at ?? null,
  };
}
