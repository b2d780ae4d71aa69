/**
 * The codec's cost per payload: `npx tsx bench/codec.ts`. Not a test; prints µs per
 * encode+decode of a typical ~300-byte workflow input, and the bytes encryption adds.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { EncryptionCodec } from '../src/codec/encryption-codec';
import { generateKeySpec, parseKeyRing } from '../src/codec/keys';

const input = {
  nhsNumber: '9434765919',
  dob: '1992-01-01',
  booking: { appointmentTypeId: '1', locationId: '5', expiryDate: '2026-12-31', maximumUseCount: 1 },
  message: { type: 'sms', text: 'Your GP practice invites you to book an appointment: {booking_link}' },
  verification: { timeout: 604_800_000, recheckEvery: 21_600_000 },
};

const size = (p: Parameters<typeof temporal.api.common.v1.Payload.encode>[0]) =>
  temporal.api.common.v1.Payload.encode(p).finish().length;

async function main(): Promise<void> {
  const codec = new EncryptionCodec(parseKeyRing(generateKeySpec('bench')));
  const payload = defaultPayloadConverter.toPayload(input);
  const [encrypted] = await codec.encode([payload]);
  const roundTrip = async () => codec.decode(await codec.encode([payload]));

  for (let i = 0; i < 5_000; i++) await roundTrip(); // warm-up
  const runs = 50_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await roundTrip();
  const micros = Number(process.hrtime.bigint() - start) / 1_000 / runs;

  const before = size(payload);
  const after = size(encrypted!);
  console.log(`payload: ${payload.data?.length ?? 0} bytes of JSON, ${before} bytes serialized`);
  console.log(`encode+decode: ${micros.toFixed(1)} µs per payload (${runs} runs, Node ${process.version})`);
  console.log(
    `size: ${after} bytes encrypted, +${after - before} bytes (+${((100 * (after - before)) / before).toFixed(0)}%)`,
  );
}

void main();
