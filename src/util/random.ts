// One seeded pseudo-random generator for everything that must be reproducible from a seed
// (fault injection in `kiln hil`, test data).

/** mulberry32: small, fast, 32-bit state; uniform in [0, 1). Good enough to pick positions and test data, not for cryptography. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
