/**
 * The client from Hero's integration guide, as a partner would write it without a workflow engine:
 * send the request; on 429, while retries remain (3 by default), wait `Retry-After` seconds (60 if
 * absent) and try again; otherwise throw on any non-OK status.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface NaiveHero {
  baseUrl: string;
  apiKey: string;
  practiceGroupId: string;
}

export interface NaivePatient {
  nhsNumber: string;
  dob: string;
}

/** The guide's helper, verbatim in behaviour. */
export async function heroRequest(hero: NaiveHero, path: string, body: unknown, retries = 3): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(hero.baseUrl + path, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': hero.apiKey,
        'x-practice-group-id': hero.practiceGroupId,
      },
      body: JSON.stringify(body),
    });
    if (res.status === 429 && attempt < retries) {
      await res.body?.cancel();
      const header = Number(res.headers.get('retry-after'));
      await sleep((Number.isFinite(header) && header > 0 ? header : 60) * 1000);
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`Hero answered ${res.status} on ${path}`);
    }
    return res.json();
  }
}

/**
 * One outreach the naive way: trace, (if Hero asks for verification: the patient verifies after
 * `verifyAfterMs`, and the guide re-calls register_pds once), booking link, message.
 */
export async function naiveOutreach(
  hero: NaiveHero,
  patient: NaivePatient,
  opts: { verifyAfterMs: number; patientVerifies: (loginUrl: string) => Promise<void> },
): Promise<void> {
  const trace = () =>
    heroRequest(hero, '/v1/patients/register_pds', { nhs_number: patient.nhsNumber, dob: patient.dob });
  let traced = (await trace()) as { patient_id?: string | number; login_url?: string };
  if (traced.login_url) {
    await sleep(opts.verifyAfterMs);
    await opts.patientVerifies(traced.login_url);
    traced = (await trace()) as typeof traced;
  }
  if (traced.patient_id === undefined) throw new Error('patient not verified after one re-check');
  const patientId = String(traced.patient_id);
  const link = (await heroRequest(hero, '/v1/booking_links', {
    appointment_type_id: '1',
    location_id: '5',
    patient_id: patientId,
    practitioner_id: '7',
    expiry_date: '2026-12-31',
    maximum_use_count: 1,
  })) as { id: string | number; short_link?: string; url?: string };
  await heroRequest(hero, '/v1/messages/send', {
    patient_id: patientId,
    message_type: 'sms',
    message_string: `Book your appointment: ${link.short_link ?? link.url ?? ''}`,
    short_link_id: String(link.id),
  });
}
