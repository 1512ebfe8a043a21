// kiln's generic Verilator harness for a generated `kiln_top` (see sim/README.md for the file formats).
//
// Drives s_axis from a stimulus file (one beat per line, hex), applies seeded random input gaps and
// m_axis back-pressure, records the cycle every input beat is accepted and every output beat with its
// cycle, and writes a response file. A watchdog stops the run when no stream beat moves for N cycles
// while outputs are still expected, and names the blocked streams (from the manifest's stream list).
//
// Exit codes: 0 ok, 1 usage / file error, 3 watchdog (deadlock), 4 cycle limit reached.
#include "Vkiln_top.h"
#include "verilated.h"

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sys/resource.h>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitWatchdog = 3;
constexpr int kExitCycleLimit = 4;

// ---- Port packing: Verilator stores ports of <= 8/16/32/64 bits as CData/SData/IData/QData and wider
// ports as VlWide<N> (N 32-bit words, word 0 least significant). A beat is held as 32-bit words,
// least significant first, and these overloads move it into and out of either representation.
using Words = std::vector<uint32_t>;

template <typename T>
size_t portWords(const T &) { return (sizeof(T) + 3) / 4; }
template <std::size_t N>
size_t portWords(const VlWide<N> &) { return N; }

template <typename T>
void writePort(T &port, const Words &w) {
  uint64_t v = 0;
  for (size_t i = 0; i < w.size() && i < 2; i++) v |= static_cast<uint64_t>(w[i]) << (32 * i);
  port = static_cast<T>(v);
}
template <std::size_t N>
void writePort(VlWide<N> &port, const Words &w) {
  for (size_t i = 0; i < N; i++) port[i] = i < w.size() ? w[i] : 0;
}

// Into a caller-owned buffer: the per-cycle debug reads must not allocate.
template <typename T>
void readPortInto(const T &port, Words &w) {
  const uint64_t v = static_cast<uint64_t>(port);
  w.resize(portWords(port));
  for (size_t i = 0; i < w.size(); i++) w[i] = static_cast<uint32_t>(v >> (32 * i));
}
template <std::size_t N>
void readPortInto(const VlWide<N> &port, Words &w) {
  w.resize(N);
  for (size_t i = 0; i < N; i++) w[i] = port[i];
}
template <typename T>
Words readPort(const T &port) {
  Words w;
  readPortInto(port, w);
  return w;
}

bool bitOf(const Words &w, size_t i) { return i / 32 < w.size() && ((w[i / 32] >> (i % 32)) & 1u); }

// dbg_valid/dbg_ready are optional: a design with no internal streams may omit them.
template <typename T, typename = void>
struct HasDbg : std::false_type {};
template <typename T>
struct HasDbg<T, std::void_t<decltype(std::declval<T &>().dbg_valid), decltype(std::declval<T &>().dbg_ready)>>
    : std::true_type {};

template <typename T>
void readDbg(T &top, Words &valid, Words &ready) {
  if constexpr (HasDbg<T>::value) {
    readPortInto(top.dbg_valid, valid);
    readPortInto(top.dbg_ready, ready);
  } else {
    valid.clear();
    ready.clear();
  }
}

// ---- Hex text ⇄ words.
bool parseHex(const std::string &s, Words &out) {
  out.clear();
  uint32_t word = 0;
  int nibbles = 0;
  for (size_t k = s.size(); k-- > 0;) {
    const char c = s[k];
    uint32_t d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else if (c == '_') continue;
    else return false;
    word |= d << (4 * nibbles);
    if (++nibbles == 8) {
      out.push_back(word);
      word = 0;
      nibbles = 0;
    }
  }
  if (nibbles > 0) out.push_back(word);
  if (out.empty()) out.push_back(0);
  return true;
}

std::string toHex(const Words &w) {
  std::string s;
  char buf[9];
  for (size_t i = w.size(); i-- > 0;) {
    std::snprintf(buf, sizeof buf, "%08x", w[i]);
    s += buf;
  }
  const size_t nz = s.find_first_not_of('0');
  return nz == std::string::npos ? "0" : s.substr(nz);
}

std::string trim(const std::string &s) {
  const size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
}

struct Options {
  std::string inPath, outPath, streamsPath;
  uint64_t expectBeats = 0;  // output beats to wait for
  double backpressure = 0;   // probability that m_axis_tready is low in a cycle
  double gaps = 0;           // probability that s_axis_tvalid is withheld in a cycle
  uint64_t seed = 1;
  uint64_t watchdog = 10000;
  uint64_t maxCycles = 0;    // 0 = no limit besides the watchdog
  uint64_t progress = 0;     // print "progress <outBeats>" to stdout every this many output beats (0 = never)
};

[[noreturn]] void usage(const char *why) {
  std::fprintf(stderr,
               "tb: %s\nusage: tb --in stim.txt --out resp.txt --expect N [--backpressure P] [--gaps P] "
               "[--seed S] [--watchdog CYCLES] [--max-cycles N] [--streams names.txt] [--progress BEATS]\n",
               why);
  std::exit(kExitError);
}

bool parseNumber(const char *s, double &v) {
  char *end = nullptr;
  errno = 0;
  v = std::strtod(s, &end);
  return errno == 0 && end != s && *end == '\0';
}

#ifdef KILN_TRACE
}  // namespace
#include "tb_debug.h"
namespace {
kiln_debug::Debug debug;  // the debug build's waveform and stream taps (tb_debug.h)
#endif

Options parseArgs(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a.rfind("+verilator", 0) == 0) continue;  // Verilator's own runtime options
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    const char *v = argv[++i];
    double num = 0;
    const bool isNum = parseNumber(v, num);
    auto needCount = [&](uint64_t &dst) {
      if (!isNum || num < 0 || num != static_cast<double>(static_cast<uint64_t>(num)))
        usage((a + " must be a non-negative integer, not " + v).c_str());
      dst = static_cast<uint64_t>(num);
    };
    auto needProb = [&](double &dst) {
      if (!isNum || num < 0 || num >= 1) usage((a + " must be a probability in [0, 1), not " + v).c_str());
      dst = num;
    };
    if (a == "--in") o.inPath = v;
    else if (a == "--out") o.outPath = v;
    else if (a == "--streams") o.streamsPath = v;
    else if (a == "--expect") needCount(o.expectBeats);
    else if (a == "--backpressure") needProb(o.backpressure);
    else if (a == "--gaps") needProb(o.gaps);
    else if (a == "--seed") needCount(o.seed);
    else if (a == "--watchdog") needCount(o.watchdog);
    else if (a == "--max-cycles") needCount(o.maxCycles);
    else if (a == "--progress") needCount(o.progress);
#ifdef KILN_TRACE
    else if (debug.option(a, v)) continue;
#endif
    else usage(("unknown option " + a).c_str());
  }
  if (o.inPath.empty() || o.outPath.empty()) usage("--in and --out are required");
  if (o.watchdog == 0) usage("--watchdog must be at least 1");
  return o;
}

std::vector<Words> readStimulus(const std::string &path, size_t maxWords) {
  std::ifstream f(path);
  if (!f) {
    std::fprintf(stderr, "tb: cannot read stimulus file %s\n", path.c_str());
    std::exit(kExitError);
  }
  std::vector<Words> beats;
  std::string line;
  size_t lineNo = 0;
  while (std::getline(f, line)) {
    lineNo++;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    Words w;
    if (!parseHex(t, w)) {
      std::fprintf(stderr, "tb: %s:%zu: not a hex word: '%s'\n", path.c_str(), lineNo, t.c_str());
      std::exit(kExitError);
    }
    while (w.size() > maxWords && w.back() == 0) w.pop_back();
    if (w.size() > maxWords) {
      std::fprintf(stderr, "tb: %s:%zu: beat is wider than s_axis_tdata (%zu words)\n", path.c_str(), lineNo,
                   maxWords);
      std::exit(kExitError);
    }
    beats.push_back(std::move(w));
  }
  return beats;
}

std::vector<std::string> readStreamNames(const std::string &path) {
  std::vector<std::string> names;
  if (path.empty()) return names;
  std::ifstream f(path);
  if (!f) {
    std::fprintf(stderr, "tb: cannot read stream names file %s\n", path.c_str());
    std::exit(kExitError);
  }
  std::string line;
  while (std::getline(f, line)) {
    const std::string t = trim(line);
    if (!t.empty()) names.push_back(t);
  }
  return names;
}

// Per-stream movement record for the watchdog report.
struct StreamState {
  std::string name;
  bool valid = false, ready = false;
  int64_t lastMove = -1;
  uint64_t beats = 0;
};

void recordMove(StreamState &s, uint64_t cycle) {
  s.lastMove = static_cast<int64_t>(cycle);
  s.beats++;
}

}  // namespace

int main(int argc, char **argv) {
  const Options opt = parseArgs(argc, argv);
  auto ctx = std::make_unique<VerilatedContext>();
  ctx->commandArgs(argc, argv);
#ifdef KILN_TRACE
  debug.prepare(*ctx);
#endif
  auto top = std::make_unique<Vkiln_top>(ctx.get());
#ifdef KILN_TRACE
  debug.open(*top);
#endif

  const std::vector<Words> stim = readStimulus(opt.inPath, portWords(top->s_axis_tdata));
  const std::vector<std::string> dbgNames = readStreamNames(opt.streamsPath);
  std::FILE *out = std::fopen(opt.outPath.c_str(), "w");
  if (!out) {
    std::fprintf(stderr, "tb: cannot write response file %s\n", opt.outPath.c_str());
    return kExitError;
  }

  // Separate generators so that changing the gap probability does not change the back-pressure pattern.
  std::mt19937_64 rngReady(opt.seed * 2 + 1), rngGap(opt.seed * 2 + 2);
  std::uniform_real_distribution<double> uni(0.0, 1.0);

  // Reset: rst_n low for a few edges with all handshakes idle.
  top->clk = 0;
  top->rst_n = 0;
  top->s_axis_tvalid = 0;
  top->m_axis_tready = 0;
  writePort(top->s_axis_tdata, Words{});
  top->eval();
  for (int i = 0; i < 4; i++) {
    top->clk = 1;
    top->eval();
    top->clk = 0;
    top->eval();
  }
  top->rst_n = 1;
  top->eval();

  // Streams watched: the two ports, then the internal streams in dbg_* bit order.
  Words dv, dr;
  readDbg(*top, dv, dr);
  std::vector<StreamState> streams(2);
  streams[0].name = "s_axis";
  streams[1].name = "m_axis";
  // The port widths are not visible to C++, so internal streams are watched only when named.
  for (size_t i = 0; i < dbgNames.size() && !dv.empty(); i++) {
    StreamState s;
    s.name = dbgNames[i];
    streams.push_back(s);
  }

  const Words zero;          // idle bus value (both ternary arms below are lvalues: no copy per cycle)
  size_t next = 0;          // next stimulus beat to offer
  bool offering = false;    // tvalid is up and must stay up until accepted (AXI4-Stream rule)
  uint64_t outBeats = 0;
  uint64_t cycle = 0;
  uint64_t idle = 0;        // cycles since any stream moved
  bool ports[4] = {};       // s_axis valid, ready, m_axis valid, ready as sampled this cycle
  int rc = kExitOk;

  while (outBeats < opt.expectBeats) {
    // Drive inputs for this cycle (clk low), then settle combinational paths.
    if (!offering && next < stim.size()) offering = !(opt.gaps > 0 && uni(rngGap) < opt.gaps);
    top->s_axis_tvalid = offering ? 1 : 0;
    writePort(top->s_axis_tdata, offering ? stim[next] : zero);
    top->m_axis_tready = (opt.backpressure > 0 && uni(rngReady) < opt.backpressure) ? 0 : 1;
    top->eval();

    // Sample handshakes as the rising edge will see them. Only the streams that move are visited
    // (the set bits of valid & ready): a CNN has ~100 streams and few move in a given cycle.
    bool moved = false;
    ports[0] = top->s_axis_tvalid;
    ports[1] = top->s_axis_tready;
    ports[2] = top->m_axis_tvalid;
    ports[3] = top->m_axis_tready;
    const bool inMoves = ports[0] && ports[1];
    const bool outMoves = ports[2] && ports[3];
    if (inMoves) recordMove(streams[0], cycle);
    if (outMoves) recordMove(streams[1], cycle);
    moved = inMoves || outMoves;
    readDbg(*top, dv, dr);
#ifdef KILN_TRACE
    debug.settled(*top, cycle, dv, dr);
#endif
    for (size_t w = 0; w < dv.size() && w < dr.size(); w++) {
      for (uint32_t m = dv[w] & dr[w]; m != 0; m &= m - 1) {
        const size_t i = 2 + 32 * w + static_cast<size_t>(__builtin_ctz(m));
        if (i >= streams.size()) break;
        recordMove(streams[i], cycle);
        moved = true;
      }
    }
    if (inMoves) {
      std::fprintf(out, "in %" PRIu64 "\n", cycle);
      next++;
      offering = false;
    }
    if (outMoves) {
      std::fprintf(out, "out %" PRIu64 " %s\n", cycle, toHex(readPort(top->m_axis_tdata)).c_str());
      outBeats++;
      if (opt.progress > 0 && outBeats % opt.progress == 0) {
        std::printf("progress %" PRIu64 "\n", outBeats);
        std::fflush(stdout);
      }
    }

    // Rising edge. The falling edge is not evaluated on its own: nothing triggers on it, so it is
    // folded into the next cycle's settle (one eval fewer per cycle).
    top->clk = 1;
    top->eval();
#ifdef KILN_TRACE
    debug.dump(cycle, 1);
#endif
    top->clk = 0;
    cycle++;

    idle = moved ? 0 : idle + 1;
    if (idle >= opt.watchdog) {
      // The handshakes as the last rising edge saw them.
      streams[0].valid = ports[0];
      streams[0].ready = ports[1];
      streams[1].valid = ports[2];
      streams[1].ready = ports[3];
      for (size_t i = 2; i < streams.size(); i++) {
        streams[i].valid = bitOf(dv, i - 2);
        streams[i].ready = bitOf(dr, i - 2);
      }
      std::fprintf(out, "watchdog %" PRIu64 "\n", cycle);
      std::fprintf(stderr,
                   "tb: watchdog: no stream moved for %" PRIu64 " cycles at cycle %" PRIu64
                   " (%" PRIu64 " of %" PRIu64 " output beats, %zu of %zu input beats accepted)\n",
                   opt.watchdog, cycle, outBeats, opt.expectBeats, next, stim.size());
      std::string blocked;
      for (const StreamState &s : streams)
        if (s.valid && !s.ready) blocked += (blocked.empty() ? "" : ", ") + s.name;
      std::fprintf(stderr, "tb: blocked (valid=1, ready=0): %s\n", blocked.empty() ? "none" : blocked.c_str());
      for (const StreamState &s : streams) {
        const char *state = s.valid && !s.ready ? "blocked" : !s.valid && s.ready ? "starved" : s.valid ? "moving" : "idle";
        std::fprintf(out, "stream %s %s %d %d %" PRId64 " %" PRIu64 "\n", s.name.c_str(), state, s.valid ? 1 : 0,
                     s.ready ? 1 : 0, s.lastMove, s.beats);
        std::fprintf(stderr, "tb:   %-24s %-8s valid=%d ready=%d last moved at cycle %" PRId64 " (%" PRIu64 " beats)\n",
                     s.name.c_str(), state, s.valid ? 1 : 0, s.ready ? 1 : 0, s.lastMove, s.beats);
      }
      rc = kExitWatchdog;
      break;
    }
    if (opt.maxCycles > 0 && cycle >= opt.maxCycles) {
      std::fprintf(out, "cyclelimit %" PRIu64 "\n", cycle);
      std::fprintf(stderr, "tb: cycle limit %" PRIu64 " reached\n", opt.maxCycles);
      rc = kExitCycleLimit;
      break;
    }
  }

  // CPU seconds of this process (user + sys): the load-independent measure of simulation speed.
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::fprintf(out, "cpu %.3f\n", cpu);
  std::fprintf(out, "end %" PRIu64 " %zu %" PRIu64 "\n", cycle, next, outBeats);
  std::fclose(out);
  top->final();
#ifdef KILN_TRACE
  debug.close();
#endif
  return rc;
}
