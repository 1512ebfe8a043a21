// The debug build of tb_main.cpp (compiled with -DKILN_TRACE around the kiln_debug_top wrapper that
// src/sim/debug.ts generates): an FST waveform of a cycle window, and every beat of every stream
// (the wrapper's dbg_tdata port: all streams' tdata, stream 0 in the least significant bits) written
// to a tap file, so that kiln can compare each layer's output stream with the reference.
// The fast build never includes this file: tracing costs simulation speed.
#pragma once

#include "verilated_fst_c.h"

namespace kiln_debug {

struct Debug {
  std::string tracePath, tapsPath, tapOutPath;
  uint64_t traceFrom = 0, traceTo = UINT64_MAX;
  std::unique_ptr<VerilatedFstC> fst;
  std::FILE *tapOut = nullptr;
  std::vector<size_t> offset, width;  // per stream, in dbg bit order: bits of dbg_tdata
  Words data;

  // --trace F, --trace-from C, --trace-to C, --taps F (stream widths, one per line), --tap-out F.
  bool option(const std::string &a, const char *v) {
    auto count = [&](uint64_t &dst) {
      char *end = nullptr;
      dst = std::strtoull(v, &end, 10);
      if (end == v || *end != '\0') usage((a + " must be a non-negative integer, not " + v).c_str());
    };
    if (a == "--trace") tracePath = v;
    else if (a == "--trace-from") count(traceFrom);
    else if (a == "--trace-to") count(traceTo);
    else if (a == "--taps") tapsPath = v;
    else if (a == "--tap-out") tapOutPath = v;
    else return false;
    return true;
  }

  // Before the model is made: Verilator records signals for tracing only when asked up front.
  void prepare(VerilatedContext &ctx) {
    if (!tracePath.empty()) ctx.traceEverOn(true);
  }

  template <typename Top>
  void open(Top &top) {
    if (!tracePath.empty()) {
      fst = std::make_unique<VerilatedFstC>();
      top.trace(fst.get(), 99);
      fst->open(tracePath.c_str());
    }
    if (tapOutPath.empty()) return;
    std::ifstream f(tapsPath);
    if (!f) {
      std::fprintf(stderr, "tb: cannot read taps file %s\n", tapsPath.c_str());
      std::exit(kExitError);
    }
    size_t w = 0, at = 0;
    while (f >> w) {
      offset.push_back(at);
      width.push_back(w);
      at += w;
    }
    tapOut = std::fopen(tapOutPath.c_str(), "w");
    if (!tapOut) {
      std::fprintf(stderr, "tb: cannot write tap file %s\n", tapOutPath.c_str());
      std::exit(kExitError);
    }
  }

  // The settled cycle, before its rising edge: every beat that moves now, and the waveform.
  template <typename Top>
  void settled(Top &top, uint64_t cycle, const Words &valid, const Words &ready) {
    if (tapOut) {
      readPortInto(top.dbg_tdata, data);
      for (size_t i = 0; i < offset.size(); i++) {
        if (!(bitOf(valid, i) && bitOf(ready, i))) continue;
        Words beat((width[i] + 31) / 32, 0);
        for (size_t b = 0; b < width[i]; b++)
          if (bitOf(data, offset[i] + b)) beat[b / 32] |= 1u << (b % 32);
        std::fprintf(tapOut, "%zu %" PRIu64 " %s\n", i, cycle, toHex(beat).c_str());
      }
    }
    dump(cycle, 0);
  }

  // Waveform time: 2·cycle with clk low (settled), 2·cycle + 1 after the rising edge.
  void dump(uint64_t cycle, int half) {
    if (fst && cycle >= traceFrom && cycle <= traceTo) fst->dump(2 * cycle + half);
  }

  // While the model lives: the trace object unregisters itself from Verilator's globals.
  void close() {
    if (fst) fst->close();
    fst.reset();
    if (tapOut) std::fclose(tapOut);
    tapOut = nullptr;
  }
};

}  // namespace kiln_debug
