`default_nettype none
// Per-channel reduction over a window stream: the engine of MaxPool, AvgPool (window sum) and
// VectorVector (depthwise convolution). Input: for each pixel, for each of the K window taps, C
// channels (PE per beat, CF = C/PE beats per tap), i.e. the SlidingWindow order. Output: for each
// pixel, the C reduced channels, PE per beat:
//   MODE 0 (max)  y[c] = max_k x[k][c]        (codes compared as IN_KIND says; output = input code)
//   MODE 1 (sum)  y[c] = sum_k x[k][c]
//   MODE 2 (dot)  y[c] = sum_k W[c][k] * x[k][c]
// Weights (MODE 2): one word of PE weights per beat of a window, word k*CF + cf holds W[cf*PE+p][k]
// at bits [p*WW +: WW]; the WEIGHTS parameter (word a at [a*PE*WW +: PE*WW]) or, with USE_ROM, a ROM
// read from WEIGHT_FILE with $readmemh (path relative to the output dir).
// Codes (IN_KIND / W_KIND): 0 unsigned, 1 signed, 2 bipolar (1 = +1, 0 = -1), 3 (weights) ternary.
// CF partial results wait in a small register file; one beat is taken per cycle (the last tap's
// beats also load the output register, common/out_reg.v), so K*CF cycles per pixel. ACC_W (from the layer file) holds
// every partial sum: no overflow.
module window_reduce #(
  parameter integer K = 9,
  parameter integer C = 1,
  parameter integer PE = 1,
  parameter integer WI = 4,
  parameter integer IN_KIND = 1,
  parameter integer MODE = 1,
  parameter integer ACC_W = 8,
  parameter integer OUT_W = 8,
  parameter integer WW = 1,
  parameter integer W_KIND = 1,
  parameter integer USE_ROM = 0,
  // 1 bit unless MODE 2 reads it, and a plain 0 default: a zero replication of K*C*WW bits was
  // over the 8 Kbit replication limit of Verilator for pooling over big windows (no weights at all).
  parameter [(MODE != 2 || USE_ROM != 0 ? 1 : K*(C/PE)*PE*WW)-1:0] WEIGHTS = 0,
  parameter WEIGHT_FILE = "weights.mem"
) (
  input  wire                 clk,
  input  wire                 rst_n,
  input  wire [PE*WI-1:0]     s_axis_tdata,
  input  wire                 s_axis_tvalid,
  output wire                 s_axis_tready,
  output wire [PE*OUT_W-1:0]  m_axis_tdata,
  output wire                 m_axis_tvalid,
  input  wire                 m_axis_tready
);
  localparam integer CF = C / PE;
  localparam integer WORDS = K * CF;
  localparam integer WORD = PE * WW;
  localparam integer CFW = CF > 1 ? $clog2(CF) : 1;
  localparam integer KW_ = K > 1 ? $clog2(K) : 1;
  localparam integer AW = WORDS > 1 ? $clog2(WORDS) : 1;
  localparam [CFW-1:0] CF_LAST = CF[CFW-1:0] - 1'b1;
  localparam [KW_-1:0] K_LAST = K[KW_-1:0] - 1'b1;
  localparam [AW-1:0] A_LAST = WORDS[AW-1:0] - 1'b1;
  localparam integer RW = MODE == 0 ? WI : ACC_W; // partial result width

  reg [CFW-1:0] cf_q;
  reg [KW_-1:0] k_q;
  reg [AW-1:0] addr_q;
  wire [PE*OUT_W-1:0] result; // the reduced channels, loaded with the last tap's beats
  reg [PE*RW-1:0] part_q [0:(1 << CFW) - 1];

  wire first = k_q == {KW_{1'b0}};
  wire last = k_q == K_LAST;
  wire out_free;
  assign s_axis_tready = !last || out_free;
  wire take = s_axis_tvalid && s_axis_tready;
  wire cf_end = cf_q == CF_LAST;

  out_reg #(.W(PE*OUT_W)) u_out (
    .clk(clk), .rst_n(rst_n),
    .s_axis_tdata(result), .s_axis_tvalid(s_axis_tvalid && last), .s_axis_tready(out_free),
    .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
  );

  always @(posedge clk) begin
    if (!rst_n) begin
      cf_q <= {CFW{1'b0}};
      k_q <= {KW_{1'b0}};
      addr_q <= {AW{1'b0}};
    end else if (take) begin
      cf_q <= cf_end ? {CFW{1'b0}} : cf_q + 1'b1;
      if (cf_end) k_q <= last ? {KW_{1'b0}} : k_q + 1'b1;
      addr_q <= addr_q == A_LAST ? {AW{1'b0}} : addr_q + 1'b1;
    end
  end

  // ---- weights of this beat (MODE 2) ----
  wire [WORD-1:0] w_word;
  generate
    if (MODE != 2) begin : g_none
      assign w_word = {WORD{1'b0}};
      wire unused_w = &{1'b0, addr_q, WEIGHTS, w_word};
    end else if (USE_ROM != 0) begin : g_rom
      reg [WORD-1:0] rom [0:WORDS-1];
      initial $readmemh(WEIGHT_FILE, rom);
      assign w_word = rom[addr_q];
      wire unused_w = &{1'b0, WEIGHTS};
    end else if (WORDS == 1) begin : g_const
      assign w_word = WEIGHTS[WORD-1:0];
      wire unused_w = &{1'b0, addr_q};
    end else begin : g_param
      assign w_word = WEIGHTS[addr_q * WORD +: WORD];
    end
  endgenerate

  // x_value, w_value (a code's value in ACC_W bits) and term (w*x without a multiplier for bipolar /
  // ternary weights or bipolar inputs), as mvu.v.
  `include "code_values.vh"

  wire [PE*RW-1:0] prev = part_q[cf_q];
  wire [PE*RW-1:0] next;
  genvar q;
  generate
    for (q = 0; q < PE; q = q + 1) begin : g_lane
      wire [WI-1:0] x = s_axis_tdata[q*WI +: WI];
      wire [RW-1:0] held = prev[q*RW +: RW];
      if (MODE == 0) begin : g_max
        // Bipolar codes order like their values (0 = -1 < 1 = +1): compare unsigned unless signed.
        wire larger = IN_KIND == 1 ? $signed(x) > $signed(held) : x > held;
        assign next[q*RW +: RW] = first || larger ? x : held;
      end else begin : g_sum
        wire [ACC_W-1:0] add = MODE == 1 ? x_value(x) : term(w_word[q*WW +: WW], x);
        assign next[q*RW +: RW] = (first ? {RW{1'b0}} : held) + add;
      end
      assign result[q*OUT_W +: OUT_W] = next[q*RW +: OUT_W];
    end
    if (RW > OUT_W) begin : g_unused
      wire unused_high = &{1'b0, next};
    end
  endgenerate

  always @(posedge clk) begin
    if (take) part_q[cf_q] <= next;
  end
endmodule
`default_nettype wire
