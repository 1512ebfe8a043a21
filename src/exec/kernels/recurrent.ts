// RNN, GRU and LSTM (ONNX opsets 7-14): one loop over time per direction, gates in float64.
import { fail } from '../../diag/index.ts';
import { attrFloat, attrFloats, attrInt, attrString, type Node } from '../../ir/graph.ts';
import { nums, type Tensor } from '../../ir/tensor.ts';

type Act = (x: number) => number;

function activation(name: string, alpha: number | undefined, beta: number | undefined): Act {
  switch (name.toLowerCase()) {
    case 'relu': return (x) => Math.max(0, x);
    case 'tanh': return Math.tanh;
    case 'sigmoid': return (x) => 1 / (1 + Math.exp(-x));
    case 'affine': return (x) => (alpha ?? 1) * x + (beta ?? 0);
    case 'leakyrelu': return (x) => (x < 0 ? (alpha ?? 0.01) * x : x);
    case 'thresholdedrelu': return (x) => (x > (alpha ?? 1) ? x : 0);
    case 'scaledtanh': return (x) => (alpha ?? 1) * Math.tanh((beta ?? 1) * x);
    case 'hardsigmoid': return (x) => Math.max(0, Math.min(1, (alpha ?? 0.2) * x + (beta ?? 0.5)));
    case 'elu': return (x) => (x < 0 ? (alpha ?? 1) * (Math.exp(x) - 1) : x);
    case 'softsign': return (x) => x / (1 + Math.abs(x));
    case 'softplus': return (x) => Math.log1p(Math.exp(x));
    default: fail('BadAttribute', `recurrent activation must be an ONNX activation name, not ${name}`);
  }
}

export type CellKind = 'RNN' | 'GRU' | 'LSTM';

const GATES: Record<CellKind, number> = { RNN: 1, GRU: 3, LSTM: 4 };
const DEFAULT_ACTS: Record<CellKind, string[]> = { RNN: ['Tanh'], GRU: ['Sigmoid', 'Tanh'], LSTM: ['Sigmoid', 'Tanh', 'Tanh'] };

export interface RecurrentResult {
  /** [seq, dirs, batch, hidden] */
  Y: Float64Array;
  /** [dirs, batch, hidden] */
  Yh: Float64Array;
  Yc: Float64Array;
  seq: number;
  batch: number;
  hidden: number;
  dirs: number;
}

export function recurrent(kind: CellKind, node: Node, inputs: (Tensor | undefined)[]): RecurrentResult {
  const X0 = inputs[0]!;
  const layout = attrInt(node, 'layout', 0);
  const hidden = attrInt(node, 'hidden_size');
  const direction = attrString(node, 'direction', 'forward');
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const G = GATES[kind];
  const [seq, batch, inSize] = layout === 0 ? X0.shape : [X0.shape[1], X0.shape[0], X0.shape[2]];
  const xv = nums(X0);
  const xAt = (t: number, b: number, i: number) => (layout === 0 ? xv[(t * batch + b) * inSize + i] : xv[(b * seq + t) * inSize + i]);
  const W = nums(inputs[1]!);
  const R = nums(inputs[2]!);
  const B = inputs[3] ? nums(inputs[3]) : undefined;
  const lens = inputs[4] ? nums(inputs[4]) : undefined;
  const hAt = (t: Tensor | undefined) => {
    if (!t) return undefined;
    const v = nums(t);
    // layout 1 stores initial states as [batch, dirs, hidden]; normalise to [dirs, batch, hidden].
    return layout === 0 ? Float64Array.from(v) : Float64Array.from({ length: v.length }, (_, k) => {
      const h = k % hidden;
      const b = Math.floor(k / hidden) % batch;
      const d = Math.floor(k / (hidden * batch));
      return v[(b * dirs + d) * hidden + h];
    });
  };
  const h0 = hAt(inputs[5]);
  const c0 = kind === 'LSTM' ? hAt(inputs[6]) : undefined;
  const P = kind === 'LSTM' && inputs[7] ? nums(inputs[7]) : undefined;
  const clip = node.attrs.clip ? attrFloat(node, 'clip') : undefined;
  const names = node.attrs.activations?.kind === 'strings' ? node.attrs.activations.v : [];
  const alphas = node.attrs.activation_alpha ? attrFloats(node, 'activation_alpha') : [];
  const betas = node.attrs.activation_beta ? attrFloats(node, 'activation_beta') : [];
  const nAct = DEFAULT_ACTS[kind].length;
  const acts = Array.from({ length: dirs }, (_, d) =>
    Array.from({ length: nAct }, (_, k) => {
      const i = d * nAct + k;
      return activation(names[i] ?? DEFAULT_ACTS[kind][k], alphas[i], betas[i]);
    }));
  const inputForget = kind === 'LSTM' && attrInt(node, 'input_forget', 0) !== 0;
  const linearBeforeReset = kind === 'GRU' && attrInt(node, 'linear_before_reset', 0) !== 0;
  const cl = (v: number) => (clip === undefined ? v : Math.max(-clip, Math.min(clip, v)));

  const Y = new Float64Array(seq * dirs * batch * hidden);
  const Yh = new Float64Array(dirs * batch * hidden);
  const Yc = new Float64Array(dirs * batch * hidden);
  const GH = G * hidden;
  for (let d = 0; d < dirs; d++) {
    const reverse = direction === 'reverse' || d === 1;
    const [f, g, h] = acts[d];
    const wOff = d * GH * inSize;
    const rOff = d * GH * hidden;
    const bOff = d * 2 * GH;
    for (let b = 0; b < batch; b++) {
      const len = lens ? lens[b] : seq;
      let H = Array.from({ length: hidden }, (_, j) => h0?.[(d * batch + b) * hidden + j] ?? 0);
      let C = Array.from({ length: hidden }, (_, j) => c0?.[(d * batch + b) * hidden + j] ?? 0);
      for (let s = 0; s < len; s++) {
        const t = reverse ? len - 1 - s : s;
        // Gate pre-activations from the input (Wx + Wb) and from the state (RH + Rb), kept apart for GRU.
        const wx = new Float64Array(GH);
        const rh = new Float64Array(GH);
        for (let r = 0; r < GH; r++) {
          let a = B ? B[bOff + r] : 0;
          for (let i = 0; i < inSize; i++) a += W[wOff + r * inSize + i] * xAt(t, b, i);
          wx[r] = a;
          let c = B ? B[bOff + GH + r] : 0;
          for (let j = 0; j < hidden; j++) c += R[rOff + r * hidden + j] * H[j];
          rh[r] = c;
        }
        const Hn = new Array<number>(hidden);
        if (kind === 'RNN') {
          for (let j = 0; j < hidden; j++) Hn[j] = f(cl(wx[j] + rh[j]));
        } else if (kind === 'GRU') {
          // Gate order z, r, h.
          const rt = Array.from({ length: hidden }, (_, j) => f(cl(wx[hidden + j] + rh[hidden + j])));
          for (let j = 0; j < hidden; j++) {
            const z = f(cl(wx[j] + rh[j]));
            let pre: number;
            if (linearBeforeReset) pre = wx[2 * hidden + j] + rt[j] * rh[2 * hidden + j];
            else {
              let c = B ? B[bOff + GH + 2 * hidden + j] : 0;
              for (let k = 0; k < hidden; k++) c += R[rOff + (2 * hidden + j) * hidden + k] * rt[k] * H[k];
              pre = wx[2 * hidden + j] + c;
            }
            Hn[j] = (1 - z) * g(cl(pre)) + z * H[j];
          }
        } else {
          // Gate order i, o, f, c; peepholes P = [Pi, Po, Pf].
          const Cn = new Array<number>(hidden);
          const pOff = d * 3 * hidden;
          for (let j = 0; j < hidden; j++) {
            const i = f(cl(wx[j] + rh[j] + (P ? P[pOff + j] * C[j] : 0)));
            const fg = inputForget ? 1 - i : f(cl(wx[2 * hidden + j] + rh[2 * hidden + j] + (P ? P[pOff + 2 * hidden + j] * C[j] : 0)));
            const c = g(cl(wx[3 * hidden + j] + rh[3 * hidden + j]));
            Cn[j] = fg * C[j] + i * c;
            const o = f(cl(wx[hidden + j] + rh[hidden + j] + (P ? P[pOff + hidden + j] * Cn[j] : 0)));
            Hn[j] = o * h(Cn[j]);
          }
          C = Cn;
        }
        H = Hn;
        for (let j = 0; j < hidden; j++) Y[((t * dirs + d) * batch + b) * hidden + j] = H[j];
      }
      for (let j = 0; j < hidden; j++) {
        Yh[(d * batch + b) * hidden + j] = H[j];
        Yc[(d * batch + b) * hidden + j] = C[j];
      }
    }
  }
  return { Y, Yh, Yc, seq, batch, hidden, dirs };
}
