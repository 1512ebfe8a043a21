// How many DSP blocks Yosys makes of one multiplier: a port of techmaps/mul2dsp.v (Yosys 0.23), which
// synth_xilinx runs with A ≤ 25, B ≤ 18 (partial A slices of 18), min widths A, B ≥ 2, Y ≥ 9, signed
// only (an unsigned operand gets a zero sign bit), and synth_ice40 -dsp with 16 × 16, Y ≥ 11, both
// signednesses. A too-wide product is cut into slices whose partial products are shifted and added;
// a slice whose shift is at or past the product's used width drives nothing and is removed.
export interface DspShape { aMax: number; bMax: number; aPartial: number; bPartial: number; yMin: number; signedOnly: boolean }

export const xc7Dsp: DspShape = { aMax: 25, bMax: 18, aPartial: 18, bPartial: 18, yMin: 9, signedOnly: true };
export const ice40Dsp: DspShape = { aMax: 16, bMax: 16, aPartial: 16, bPartial: 16, yMin: 11, signedOnly: false };

/** DSP blocks for an a × b multiplier with a y-bit product; `unsigned`: both operands unsigned. */
export function multiplierDsps(a: number, b: number, y: number, unsigned: boolean, s: DspShape): number {
  // yw: the slice's declared product width (the Y ≥ yMin test); used: its bits below the product's top.
  const rec = (aw: number, bw: number, yw: number, used: number, top: boolean): number => {
    if (used <= 0 || aw < 2 || bw < 2 || yw < s.yMin) return 0;
    if (top && aw < bw) return rec(bw, aw, yw, used, top);
    const head = s.signedOnly ? 1 : 0;
    if (aw > s.aMax || bw > s.bMax) {
      const cutA = aw > s.aMax;
      const [w, other, max, partial] = cutA ? [aw, bw, s.aMax, s.aPartial] : [bw, aw, s.bMax, s.bPartial];
      const step = partial - head;
      const n = Math.floor((w - max + partial - head - 1) / step);
      const slice = (sw: number, sy: number, off: number) => (cutA ? rec(sw, other, sy, used - off, false) : rec(other, sw, sy, used - off, false));
      let total = 0;
      for (let i = 0; i < n; i++) total += slice(partial, Math.min(yw, other + partial), i * step);
      const last = w - n * step;
      return total + slice(last, other + last, n * step);
    }
    return 1;
  };
  // The width checks come before the signed-only widening (mul2dsp's generate order).
  if (a < 2 || b < 2 || y < s.yMin) return 0;
  const extra = s.signedOnly && unsigned ? 1 : 0;
  return rec(a + extra, b + extra, y, y, true);
}

/** Width Yosys gives a constant operand c held in `width` bits (two's complement): leading and trailing zero bits trimmed; and those trailing zeros. */
export function constantWidth(c: number, width: number): [bits: number, trailingZeros: number] {
  let v = BigInt.asUintN(width, BigInt(c));
  if (v === 0n) return [0, 0];
  let tz = 0;
  while ((v & 1n) === 0n) {
    v >>= 1n;
    tz++;
  }
  return [v.toString(2).length, tz];
}
