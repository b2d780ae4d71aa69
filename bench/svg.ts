/** A hand-written SVG line chart: Hero calls per second over time for each side, against the limit. */

export interface Series {
  label: string;
  color: string;
  /** Value per second, index = seconds since the side started. */
  values: number[];
  dashed?: boolean;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * `clipAt`: the top of the y-axis; a series going above it is drawn flat at the top and its peak is
 * written next to the legend (the naive client's bursts would otherwise squash everything else).
 */
export function callsPerSecondSvg(opts: { title: string; series: Series[]; limit: number; clipAt?: number }): string {
  const W = 900;
  const H = 450;
  const m = { left: 60, right: 20, top: 40, bottom: 110 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const maxT = Math.max(10, ...opts.series.map((s) => s.values.length));
  const peak = Math.max(opts.limit * 1.5, ...opts.series.flatMap((s) => s.values)) * 1.05;
  const maxV = opts.clipAt !== undefined ? Math.min(peak, opts.clipAt) : peak;
  const x = (t: number) => m.left + (t / maxT) * pw;
  const y = (v: number) => m.top + ph - (Math.min(v, maxV) / maxV) * ph;
  const niceStep = (span: number, n: number) => {
    const raw = span / n;
    const p = 10 ** Math.floor(Math.log10(raw));
    return [1, 2, 5, 10].map((k) => k * p).find((s) => s >= raw) ?? raw;
  };
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(opts.title)}</text>`,
  );
  const vStep = niceStep(maxV, 6);
  for (let v = 0; v <= maxV; v += vStep) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`,
    );
  }
  const tStep = niceStep(maxT, 10);
  for (let t = 0; t <= maxT; t += tStep) {
    out.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${m.top}" y2="${m.top + ph}" stroke="#f3f3f3"/>`,
      `<text x="${x(t).toFixed(1)}" y="${m.top + ph + 16}" text-anchor="middle">${t}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
    `<text x="${m.left + pw / 2}" y="${m.top + ph + 34}" text-anchor="middle">seconds since the side started</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">Hero calls per second</text>`,
    `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(opts.limit).toFixed(1)}" y2="${y(opts.limit).toFixed(1)}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"/>`,
  );
  for (const s of opts.series) {
    const pts = s.values.map((v, t) => `${x(t + 0.5).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    out.push(
      `<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="3 3"' : ''}/>`,
    );
  }
  const legend = [
    ...opts.series.map((s) => {
      const top = Math.max(0, ...s.values);
      const clipped = top > maxV ? ` (clipped; peak ${top}/s)` : '';
      return { label: s.label + clipped, color: s.color, dashed: s.dashed };
    }),
    { label: `Hero's limit (${opts.limit}/s)`, color: '#d62728', dashed: true },
  ];
  legend.forEach((l, i) => {
    const lx = m.left + (i % 2) * 410;
    const ly = m.top + ph + 56 + Math.floor(i / 2) * 18;
    out.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${l.color}" stroke-width="2"${l.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
      `<text x="${lx + 30}" y="${ly}">${esc(l.label)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
