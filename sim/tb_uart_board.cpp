// The virtual board of `kiln hil --sim`: a Verilator model of `kiln_uart_top` (the compiled design
// behind the framed UART protocol of hw/uart/README.md) whose serial lines are bridged to a byte
// stream. Bytes read from stdin are shifted into `uart_rx` bit by bit (8N1, LSB first, CLKS_PER_BIT
// clocks per bit); bytes the design shifts out of `uart_tx` are sampled mid-bit and written to
// stdout. The host-side runner (src/hil) talks to this process exactly as it talks to a serial port.
//
// Simulated time runs while something happens on a line and for --idle-cycles after the last line
// activity (long enough for the accelerator to compute and for the wrapper's inter-byte timeout to
// expire); then the harness sleeps in poll() until the host sends more, so an idle board costs no CPU.
// stdin at end of file (the host closed the link) ends the process with exit code 0.
//
// The protocol carries no cycle counts, so the board reports them beside it: for every response
// frame whose sequence number is that of the last request, a line `cycles <seq> <n>` on stderr, n =
// clocks from the request's last stop bit into uart_rx to the response's last stop bit out of uart_tx.
//
// usage: tb_uart_board --clks-per-bit C [--idle-cycles N]
// Exit codes: 0 host closed the link, 1 usage or I/O error.
#include "Vkiln_uart_top.h"
#include "verilated.h"

#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
// The wrapper's power-on reset lasts 4 clocks; the line stays idle a little longer before the first byte.
constexpr uint64_t kStartupCycles = 32;

struct Options {
  uint64_t clksPerBit = 0;
  uint64_t idleCycles = 200000;
};

[[noreturn]] void usage(const char *why) {
  std::fprintf(stderr, "tb_uart_board: %s\nusage: tb_uart_board --clks-per-bit C [--idle-cycles N]\n", why);
  std::exit(kExitError);
}

uint64_t parseCount(const std::string &name, const char *v) {
  char *end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0') usage((name + " must be a non-negative integer, not " + v).c_str());
  return n;
}

Options parseArgs(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a.rfind("+verilator", 0) == 0) continue;
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    const char *v = argv[++i];
    if (a == "--clks-per-bit") o.clksPerBit = parseCount(a, v);
    else if (a == "--idle-cycles") o.idleCycles = parseCount(a, v);
    else usage(("unknown option " + a).c_str());
  }
  if (o.clksPerBit < 4) usage("--clks-per-bit must be at least 4");
  return o;
}

// Host → board: bytes waiting to be shifted into uart_rx, one 10-bit 8N1 frame at a time.
struct LineDriver {
  uint64_t clksPerBit;
  std::deque<uint8_t> queue;
  int bit = -1;        // bit of `frame` on the line, -1 = idle
  uint16_t frame = 0;  // stop bit, 8 data bits, start bit (bit 0 first)
  uint64_t count = 0;  // clocks spent on the current bit

  bool busy() const { return bit >= 0 || !queue.empty(); }

  // The line level for this clock; advances the bit timing. `done` is set when a byte's stop bit ends.
  uint8_t step(bool mayStart, bool &done, uint8_t &doneByte) {
    done = false;
    if (bit < 0) {
      if (queue.empty() || !mayStart) return 1;
      frame = static_cast<uint16_t>(0x200u | (static_cast<unsigned>(queue.front()) << 1));
      queue.pop_front();
      bit = 0;
      count = 0;
    }
    const uint8_t level = (frame >> bit) & 1u;
    if (++count == clksPerBit) {
      count = 0;
      if (++bit == 10) {
        bit = -1;
        done = true;
        doneByte = static_cast<uint8_t>(frame >> 1);
      }
    }
    return level;
  }
};

// Board → host: samples uart_tx in the middle of each bit; a frame whose stop bit is low is dropped
// (as a real UART would report a framing error).
struct LineMonitor {
  uint64_t clksPerBit;
  bool active = false;
  uint64_t count = 0;  // clocks since the falling edge of the start bit
  uint8_t data = 0;

  // Returns true (and the byte) when a complete byte was received this clock.
  bool step(uint8_t line, uint8_t &out) {
    if (!active) {
      if (line == 0) {
        active = true;
        count = 0;
        data = 0;
      }
      return false;
    }
    count++;
    const uint64_t half = clksPerBit / 2;
    if (count < half || (count - half) % clksPerBit != 0) return false;
    const uint64_t bitIndex = (count - half) / clksPerBit;  // 0 = start, 1..8 data, 9 stop
    if (bitIndex == 0) {
      if (line != 0) active = false;  // a glitch, not a start bit
    } else if (bitIndex <= 8) {
      data = static_cast<uint8_t>(data | (line << (bitIndex - 1)));
    } else {
      active = false;
      if (line == 1) {
        out = data;
        return true;
      }
    }
    return false;
  }
};

// Follows the frames of one direction (hw/uart/README.md) far enough to see where each ends:
// SOF, SEQ, LEN0, LEN1, LEN payload bytes, CRC (2); and on the reply side the 3-byte NAK (EE, SEQ, CODE).
struct FrameTracker {
  uint8_t sof;
  int state = 0;  // 0 start, 1 seq, 2 len0, 3 len1, 4 payload, 5 CRC high, 6 CRC low, 7 NAK seq, 8 NAK code
  uint8_t seq = 0;
  uint32_t len = 0, got = 0;

  void reset() { state = 0; }

  // True when `b` ends a frame of kind `sof` (its sequence number in `seq`).
  bool push(uint8_t b) {
    switch (state) {
      case 0:
        if (b == sof) state = 1;
        else if (b == 0xEE && sof == 0x5A) state = 7;
        return false;
      case 1: seq = b; state = 2; return false;
      case 2: len = b; state = 3; return false;
      case 3:
        len |= static_cast<uint32_t>(b) << 8;
        got = 0;
        state = len ? 4 : 5;
        return false;
      case 4:
        if (++got == len) state = 5;
        return false;
      case 5: state = 6; return false;
      case 6: state = 0; return true;
      case 7: state = 8; return false;
      default: state = 0; return false;  // end of a NAK: no result, no cycle count
    }
  }
};

// Reads whatever stdin holds (non-blocking). Returns false at end of file.
bool readHost(std::deque<uint8_t> &queue) {
  uint8_t buf[4096];
  for (;;) {
    const ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n > 0) {
      queue.insert(queue.end(), buf, buf + n);
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    std::fprintf(stderr, "tb_uart_board: reading stdin: %s\n", std::strerror(errno));
    std::exit(kExitError);
  }
}

void writeHost(const std::vector<uint8_t> &bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(STDOUT_FILENO, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{STDOUT_FILENO, POLLOUT, 0};
      poll(&p, 1, 100);
    } else {
      // The host went away (EPIPE): nothing left to do.
      std::exit(kExitOk);
    }
  }
}

}  // namespace

int main(int argc, char **argv) {
  const Options opt = parseArgs(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  const int flags = fcntl(STDIN_FILENO, F_GETFL);
  if (flags < 0 || fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK) < 0) {
    std::fprintf(stderr, "tb_uart_board: cannot make stdin non-blocking: %s\n", std::strerror(errno));
    return kExitError;
  }

  auto ctx = std::make_unique<VerilatedContext>();
  ctx->commandArgs(argc, argv);
  auto top = std::make_unique<Vkiln_uart_top>(ctx.get());

  LineDriver driver{opt.clksPerBit};
  LineMonitor monitor{opt.clksPerBit};
  FrameTracker requests{0xA5}, replies{0x5A};
  bool requestSeen = false;
  uint8_t requestSeq = 0;
  uint64_t requestEnd = 0;
  std::vector<uint8_t> toHost;
  uint64_t cycle = 0;
  uint64_t lastActivity = 0;
  const uint64_t pollEvery = 10 * opt.clksPerBit;  // about one byte time
  bool hostOpen = true;

  top->clk = 0;
  top->uart_rx = 1;
  top->eval();

  for (;;) {
    if (cycle % pollEvery == 0 && hostOpen) hostOpen = readHost(driver.queue);
    const bool busy = driver.busy() || monitor.active || cycle - lastActivity < opt.idleCycles || cycle < kStartupCycles;
    if (!busy) {
      if (!toHost.empty()) {
        writeHost(toHost);
        toHost.clear();
      }
      if (!hostOpen) break;
      // A frame cut short (a dropped byte) must not swallow the next one's bytes.
      requests.reset();
      replies.reset();
      // Nothing moves and nothing will until the host sends: sleep until it does.
      pollfd p{STDIN_FILENO, POLLIN, 0};
      const int r = poll(&p, 1, -1);
      if (r < 0 && errno != EINTR) {
        std::fprintf(stderr, "tb_uart_board: poll: %s\n", std::strerror(errno));
        return kExitError;
      }
      hostOpen = readHost(driver.queue);
      lastActivity = cycle;
      continue;
    }

    bool sent = false;
    uint8_t sentByte = 0;
    top->uart_rx = driver.step(cycle >= kStartupCycles, sent, sentByte);
    top->clk = 1;
    top->eval();
    top->clk = 0;
    top->eval();
    cycle++;

    uint8_t byte = 0;
    if (sent && requests.push(sentByte)) {
      requestSeen = true;
      requestSeq = requests.seq;
      requestEnd = cycle;
    }
    if (monitor.step(top->uart_tx, byte)) {
      toHost.push_back(byte);
      if (replies.push(byte) && requestSeen && replies.seq == requestSeq) {
        std::fprintf(stderr, "cycles %u %" PRIu64 "\n", static_cast<unsigned>(requestSeq), cycle - requestEnd);
        std::fflush(stderr);
      }
    }
    if (driver.busy() || monitor.active || top->uart_tx == 0) lastActivity = cycle;
    // Flush at the end of a byte burst (or when plenty is pending), not byte by byte.
    if (!toHost.empty() && (!monitor.active || toHost.size() >= 256) && cycle - lastActivity >= 2 * opt.clksPerBit) {
      writeHost(toHost);
      toHost.clear();
    }
  }
  if (!toHost.empty()) writeHost(toHost);
  top->final();
  return kExitOk;
}
