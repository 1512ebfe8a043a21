`default_nettype none
// Multi-threshold activation as a requantization plus an exception list, PE elements per beat: for
// element e of channel c = e mod CHANNELS, n = #{ i : x >= T[c][i] } is computed as
//   x >= LAST[c] -> STEPS;  x < FIRST[c] -> 0;  x == EXC_ACC[c][k] -> EXC_N[c][k];
//   else (x * M[c] + B[c]) >>> SHIFT   (its low NW bits: in range wherever it is used)
// and y = OUT_BIAS + OUT_SCALE * n (bipolar: n's sign lookup), as in threshold.v. The parameters come
// from src/layers/common/threshold-requant.ts, which lists every input of [FIRST, LAST) where the
// requantization differs from the thresholds, so the module is exact on every input.
// Tables per channel, two's complement: MULS [c*MW +: MW], BIASES [c*BW +: BW], FIRSTS / LASTS
// [c*TW +: TW], EXC_ACCS [(c*EXC + k)*TW +: TW], EXC_NS [(c*EXC + k)*NW +: NW] (unused entries hold
// LAST[c], where the guard wins). With several channel groups each bit is a constant column read at
// the group counter (common/table_bits.vh). PW holds x*M + B for every input (no overflow) and > SHIFT + NW.
// Codes (IN_KIND / OUT_KIND): 0 unsigned, 1 signed, 2 bipolar. One output register (common/out_reg.v):
// full throughput, ELEMS/PE cycles per inference.
`include "table_bits.vh"
module threshold_requant #(
  parameter integer CHANNELS = 4,
  parameter integer STEPS = 1,
  parameter integer PE = 1,
  parameter integer WI = 4,
  parameter integer IN_KIND = 1,
  parameter integer TW = 5,
  parameter integer MW = 8,
  parameter integer BW = 8,
  parameter integer PW = 16,
  parameter integer SHIFT = 0,
  parameter integer EXC = 1,
  parameter [CHANNELS*MW-1:0] MULS = 0,
  parameter [CHANNELS*BW-1:0] BIASES = 0,
  parameter [CHANNELS*TW-1:0] FIRSTS = 0,
  parameter [CHANNELS*TW-1:0] LASTS = 0,
  parameter [CHANNELS*EXC*TW-1:0] EXC_ACCS = 0,
  parameter [CHANNELS*EXC*$clog2(STEPS+1)-1:0] EXC_NS = 0,
  parameter integer OUT_W = 1,
  parameter integer OUT_KIND = 0,
  parameter integer OUT_BIAS = 0,
  parameter integer OUT_SCALE = 1
) (
  input  wire                clk,
  input  wire                rst_n,
  input  wire [PE*WI-1:0]    s_axis_tdata,
  input  wire                s_axis_tvalid,
  output wire                s_axis_tready,
  output wire [PE*OUT_W-1:0] m_axis_tdata,
  output wire                m_axis_tvalid,
  input  wire                m_axis_tready
);
  localparam integer GROUPS = CHANNELS > 1 ? CHANNELS / PE : 1;
  localparam integer GW = GROUPS > 1 ? $clog2(GROUPS) : 1;
  localparam [GW-1:0] G_LAST = GROUPS[GW-1:0] - 1'b1;
  localparam integer NW = $clog2(STEPS + 1);
  // One lane's table word: M, B, FIRST, LAST, then the EXC (acc, n) pairs.
  localparam integer EW = TW + NW;
  localparam integer WORD = MW + BW + 2 * TW + EXC * EW;

  function [STEPS:0] positive_counts(input integer steps);
    integer c;
    begin
      for (c = 0; c <= steps; c = c + 1) positive_counts[c] = OUT_BIAS + OUT_SCALE * c > 0;
    end
  endfunction
  localparam [STEPS:0] POSITIVE = positive_counts(STEPS);

  // Bit i of channel c's table word (the layout above).
  function table_bit(input integer c, input integer i);
    integer k, j;
    begin
      if (i < MW) table_bit = MULS[c*MW + i];
      else if (i < MW + BW) table_bit = BIASES[c*BW + i - MW];
      else if (i < MW + BW + TW) table_bit = FIRSTS[c*TW + i - MW - BW];
      else if (i < MW + BW + 2*TW) table_bit = LASTS[c*TW + i - MW - BW - TW];
      else begin
        k = (i - MW - BW - 2*TW) / EW;
        j = (i - MW - BW - 2*TW) % EW;
        if (j < TW) table_bit = EXC_ACCS[(c*EXC + k)*TW + j];
        else table_bit = EXC_NS[(c*EXC + k)*NW + j - TW];
      end
    end
  endfunction

  reg [GW-1:0] group_q;
  wire [PE*OUT_W-1:0] y_beat;
  wire take = s_axis_tvalid && s_axis_tready;

  out_reg #(.W(PE*OUT_W)) u_out (
    .clk(clk), .rst_n(rst_n),
    .s_axis_tdata(y_beat), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
    .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
  );

  always @(posedge clk) begin
    if (!rst_n) group_q <= {GW{1'b0}};
    else if (take) group_q <= group_q == G_LAST ? {GW{1'b0}} : group_q + 1'b1;
  end
  wire unused_group = &{1'b0, group_q};

  genvar p, b, g, e;
  generate
    for (p = 0; p < PE; p = p + 1) begin : g_lane
      localparam integer LANE = CHANNELS > 1 ? p : 0;
      wire [WORD-1:0] w;
      if (GROUPS == 1) begin : g_one
        for (b = 0; b < WORD; b = b + 1) begin : g_bit
          assign w[b] = table_bit(LANE, b);
        end
      end else begin : g_groups
        `KILN_TABLE_BITS(g_bit, b, g, WORD, w[b], table_bit(g*PE + p, b))
      end
      wire [WI-1:0] code = s_axis_tdata[p*WI +: WI];
      reg [TW-1:0] x;
      always @* begin
        if (IN_KIND == 2) x = {{(TW - 1){~code[0]}}, 1'b1};
        else if (IN_KIND == 1) x = {{(TW - WI){code[WI-1]}}, code};
        else x = {{(TW - WI){1'b0}}, code};
      end
      wire signed [MW-1:0] m_c = w[0 +: MW];
      wire signed [BW-1:0] b_c = w[MW +: BW];
      wire signed [TW-1:0] first_c = w[MW+BW +: TW];
      wire signed [TW-1:0] last_c = w[MW+BW+TW +: TW];
      // x·M at TW + MW bits (exact), then + B at PW bits (> TW + MW, > BW): no overflow.
      wire signed [TW+MW-1:0] x_ext = {{MW{x[TW-1]}}, x};
      wire signed [TW+MW-1:0] m_ext = {{TW{m_c[MW-1]}}, m_c};
      wire signed [TW+MW-1:0] xm = x_ext * m_ext;
      wire [PW-1:0] prod = {{(PW-TW-MW){xm[TW+MW-1]}}, xm} + {{(PW-BW){b_c[BW-1]}}, b_c};
      wire [NW-1:0] n_lin = prod[SHIFT +: NW];
      wire unused_prod = &{1'b0, prod};
      wire [EXC-1:0] hit;
      wire [EXC*NW-1:0] exc_n;
      for (e = 0; e < EXC; e = e + 1) begin : g_exc
        assign hit[e] = x == w[MW+BW+2*TW + e*EW +: TW];
        assign exc_n[e*NW +: NW] = w[MW+BW+2*TW + e*EW + TW +: NW];
      end
      reg [NW-1:0] n;
      integer k;
      always @* begin
        n = n_lin;
        for (k = 0; k < EXC; k = k + 1) if (hit[k]) n = exc_n[k*NW +: NW];
        if ($signed(x) < first_c) n = {NW{1'b0}};
        if ($signed(x) >= last_c) n = STEPS[NW-1:0];
      end
      wire [OUT_W-1:0] y_code;
      if (OUT_KIND == 2) begin : g_bipolar
        assign y_code = {{(OUT_W - 1){1'b0}}, POSITIVE[n]};
      end else begin : g_value
        integer y;
        always @* y = OUT_BIAS + OUT_SCALE * n;
        assign y_code = y[OUT_W-1:0];
        wire unused_y = &{1'b0, y};
      end
      assign y_beat[p*OUT_W +: OUT_W] = y_code;
    end
  endgenerate
endmodule
`default_nettype wire
