// RoiAlign (opsets 10/16): average (or max) of bilinear samples per output bin, as onnxruntime.
import { nums, type Tensor } from '../../ir/tensor.ts';

export interface RoiAlignSpec {
  halfPixel: boolean;
  mode: string;
  outH: number;
  outW: number;
  samplingRatio: number;
  spatialScale: number;
}

export function roiAlign(X: Tensor, rois: Tensor, batchIdx: Tensor, s: RoiAlignSpec): { data: Float64Array; shape: number[] } {
  const [, C, H, W] = X.shape;
  const R = rois.shape[0];
  const x = nums(X);
  const rv = nums(rois);
  const bi = nums(batchIdx);
  const out = new Float64Array(R * C * s.outH * s.outW);
  const off = s.halfPixel ? 0.5 : 0;
  for (let r = 0; r < R; r++) {
    const [x1, y1, x2, y2] = [0, 1, 2, 3].map((k) => rv[r * 4 + k] * s.spatialScale - off);
    let rw = x2 - x1;
    let rh = y2 - y1;
    if (!s.halfPixel) {
      rw = Math.max(rw, 1);
      rh = Math.max(rh, 1);
    }
    const binH = rh / s.outH;
    const binW = rw / s.outW;
    const gh = s.samplingRatio > 0 ? s.samplingRatio : Math.ceil(rh / s.outH);
    const gw = s.samplingRatio > 0 ? s.samplingRatio : Math.ceil(rw / s.outW);
    const count = Math.max(gh * gw, 1);
    for (let c = 0; c < C; c++) {
      const base = (bi[r] * C + c) * H * W;
      const at = (yy: number, xx: number) => x[base + yy * W + xx];
      for (let ph = 0; ph < s.outH; ph++) for (let pw = 0; pw < s.outW; pw++) {
        let acc = s.mode === 'max' ? -Infinity : 0;
        let any = false;
        for (let iy = 0; iy < gh; iy++) for (let ix = 0; ix < gw; ix++) {
          let y = y1 + ph * binH + ((iy + 0.5) * binH) / gh;
          let xx = x1 + pw * binW + ((ix + 0.5) * binW) / gw;
          if (y < -1 || y > H || xx < -1 || xx > W) {
            if (s.mode === 'max') { acc = Math.max(acc, 0); any = true; }
            continue;
          }
          y = Math.max(y, 0);
          xx = Math.max(xx, 0);
          let yl = Math.floor(y);
          let xl = Math.floor(xx);
          let yh: number;
          let xh: number;
          if (yl >= H - 1) { yh = yl = H - 1; y = yl; } else yh = yl + 1;
          if (xl >= W - 1) { xh = xl = W - 1; xx = xl; } else xh = xl + 1;
          const ly = y - yl, lx = xx - xl, hy = 1 - ly, hx = 1 - lx;
          const terms = [hy * hx * at(yl, xl), hy * lx * at(yl, xh), ly * hx * at(yh, xl), ly * lx * at(yh, xh)];
          if (s.mode === 'max') {
            acc = Math.max(acc, ...terms);
            any = true;
          } else acc += terms[0] + terms[1] + terms[2] + terms[3];
        }
        out[((r * C + c) * s.outH + ph) * s.outW + pw] = s.mode === 'max' ? (any ? acc : 0) : acc / count;
      }
    }
  }
  return { data: out, shape: [R, C, s.outH, s.outW] };
}
