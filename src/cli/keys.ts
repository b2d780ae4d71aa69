import { generateKeySpec } from '../codec/keys';
import { EXIT_OK } from './errors';
import { emit, type OutputOptions } from './present';

/** `keys generate`: a new key for HERO_CODEC_KEYS (loads the key ring code only, not Temporal). */
export function keysGenerate(opts: OutputOptions): number {
  emit(
    {
      key: generateKeySpec(),
      howTo: 'Prepend to HERO_CODEC_KEYS (comma-separated) to rotate; keep old keys while their runs are retained.',
    },
    opts,
    (v) => `${v.key}\n${v.howTo}`,
  );
  return EXIT_OK;
}
