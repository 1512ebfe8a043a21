// Signal-processing ops of opset 17: DFT, STFT and the mel filter bank (naive O(N²) transforms).
import { fail } from '../../diag/index.ts';
import { nums, type Tensor } from '../../ir/tensor.ts';
import { prod } from './util.ts';

/**
 * DFT along `axis` of x [..., n, 1|2] (last dim: real or real+imag). Returns [..., m, 2] where
 * m = length (or length/2+1 when onesided).
 */
export function dft(x: Tensor, axis: number, length: number | undefined, inverse: boolean, onesided: boolean): { data: Float64Array; shape: number[] } {
  const r = x.shape.length;
  const cplx = x.shape[r - 1];
  if (cplx !== 1 && cplx !== 2) fail('ShapeMismatch', `DFT input must end in a dim of 1 (real) or 2 (complex), not [${x.shape}]`);
  if (axis < 0 || axis >= r - 1) fail('BadAttribute', `DFT axis must be in [0, ${r - 2}], not ${axis}`);
  const n = x.shape[axis];
  const N = length ?? n;
  const M = onesided ? Math.floor(N / 2) + 1 : N;
  const outer = prod(x.shape, 0, axis);
  const inner = prod(x.shape, axis + 1, r - 1);
  const v = nums(x);
  const out = new Float64Array(outer * M * inner * 2);
  const sign = inverse ? 1 : -1;
  for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) {
    for (let k = 0; k < M; k++) {
      let re = 0;
      let im = 0;
      for (let t = 0; t < Math.min(n, N); t++) {
        const at = ((o * n + t) * inner + j) * cplx;
        const xr = v[at];
        const xi = cplx === 2 ? v[at + 1] : 0;
        const ang = (sign * 2 * Math.PI * ((k * t) % N)) / N;
        const c = Math.cos(ang);
        const s = Math.sin(ang);
        re += xr * c - xi * s;
        im += xr * s + xi * c;
      }
      const dst = ((o * M + k) * inner + j) * 2;
      out[dst] = inverse ? re / N : re;
      out[dst + 1] = inverse ? im / N : im;
    }
  }
  const shape = [...x.shape.slice(0, axis), M, ...x.shape.slice(axis + 1, r - 1), 2];
  return { data: out, shape };
}

/** STFT of signal [batch, len, 1|2] into [batch, frames, bins, 2]. */
export function stft(signal: Tensor, step: number, window: ArrayLike<number> | undefined, frameLength: number, onesided: boolean): { data: Float64Array; shape: number[] } {
  const [B, L, cplx] = signal.shape;
  const frames = Math.floor((L - frameLength) / step) + 1;
  const bins = onesided ? Math.floor(frameLength / 2) + 1 : frameLength;
  const v = nums(signal);
  const out = new Float64Array(B * frames * bins * 2);
  for (let b = 0; b < B; b++) for (let f = 0; f < frames; f++) for (let k = 0; k < bins; k++) {
    let re = 0;
    let im = 0;
    for (let t = 0; t < frameLength; t++) {
      const at = (b * L + f * step + t) * cplx;
      const w = window ? window[t] : 1;
      const xr = v[at] * w;
      const xi = cplx === 2 ? v[at + 1] * w : 0;
      const ang = (-2 * Math.PI * ((k * t) % frameLength)) / frameLength;
      re += xr * Math.cos(ang) - xi * Math.sin(ang);
      im += xr * Math.sin(ang) + xi * Math.cos(ang);
    }
    const dst = ((b * frames + f) * bins + k) * 2;
    out[dst] = re;
    out[dst + 1] = im;
  }
  return { data: out, shape: [B, frames, bins, 2] };
}

/** Triangular mel filter bank [dft_length/2+1, num_mel_bins], as the ONNX reference builds it. */
export function melWeightMatrix(numMel: number, dftLength: number, sampleRate: number, lowHz: number, highHz: number): { data: Float64Array; shape: number[] } {
  const spec = Math.floor(dftLength / 2) + 1;
  const lowMel = 2595 * Math.log10(1 + lowHz / 700);
  const highMel = 2595 * Math.log10(1 + highHz / 700);
  const step = (highMel - lowMel) / (numMel + 2);
  const bins = Array.from({ length: numMel + 2 }, (_, i) => {
    const hz = 700 * (10 ** ((i * step + lowMel) / 2595) - 1);
    return Math.floor(((dftLength + 1) * hz) / sampleRate);
  });
  const out = new Float64Array(spec * numMel);
  for (let i = 0; i < numMel; i++) {
    const [lo, c, hi] = [bins[i], bins[i + 1], bins[i + 2]];
    if (c === lo) out[c * numMel + i] = 1;
    else for (let j = lo; j <= c; j++) out[j * numMel + i] = (j - lo) / (c - lo);
    if (hi > c) for (let j = c; j < hi; j++) out[j * numMel + i] = (hi - j) / (hi - c);
  }
  return { data: out, shape: [spec, numMel] };
}
