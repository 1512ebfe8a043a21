`default_nettype none
// Fixed-point requantization, PE elements per beat: for channel c = e mod CHANNELS,
// y = clamp(R((x * M[c] + B[c]) / 2^SHIFT), OUT_LO, OUT_HI), where R is floor (ROUND = 0: an
// arithmetic shift) or round half to even (ROUND = 1: N + 2^(SHIFT-1) - 1 + N[SHIFT], then the shift;
// the extra N[SHIFT] (the LSB of floor(N / 2^SHIFT)) carries a tie up exactly when that LSB is odd).
// MULS / BIASES pack M[c] / B[c] as MW / BW-bit two's complement at [c*MW +: MW] / [c*BW +: BW].
// PW (from src/layers/requant.ts) holds x*M+B (+ 2^(SHIFT-1) when ROUND = 1, and then PW > SHIFT + 1)
// for every input and the clamp bounds OUT_LO/OUT_HI (PW-bit two's complement): no overflow.
// One output register (common/out_reg.v): full throughput, ELEMS/PE cycles per inference.
`include "table_bits.vh"
module requant #(
  parameter integer CHANNELS = 1,
  parameter integer PE = 1,
  parameter integer WI = 8,
  parameter integer IN_KIND = 1,
  parameter integer MW = 8,
  parameter integer BW = 8,
  parameter integer PW = 18,
  parameter integer SHIFT = 0,
  parameter integer ROUND = 0,
  parameter [CHANNELS*MW-1:0] MULS = 0,
  parameter [CHANNELS*BW-1:0] BIASES = 0,
  parameter integer OUT_W = 8,
  parameter [PW-1:0] OUT_LO = {1'b1, {(PW-1){1'b0}}},
  parameter [PW-1:0] OUT_HI = {1'b0, {(PW-1){1'b1}}}
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

  reg [GW-1:0] group_q;
  wire [PE*OUT_W-1:0] y_beat; // this beat's outputs, into the output register
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

  // x as a signed value at its natural width: WI bits (signed), WI+1 (unsigned), 2 (bipolar ±1).
  localparam integer XW = IN_KIND == 2 ? 2 : IN_KIND == 1 ? WI : WI + 1;
  // x*M at its natural width XW+MW; taken mod 2^PW (exact, since x*M+B fits in PW bits), extended through EW.
  localparam integer EW = PW > XW + MW ? PW : XW + MW;
  // Half-even rounding: add 2^(SHIFT-1) - 1 and bit SHIFT of the sum (in range whenever ROUND = 1).
  localparam integer HALF_EVEN = (ROUND == 1 && SHIFT > 0) ? 1 : 0;
  localparam integer SB = SHIFT < PW ? SHIFT : PW - 1;
  localparam integer SH1 = SHIFT > 0 ? SHIFT - 1 : 0;
  localparam [PW-1:0] HALF_M1 = ({{(PW-1){1'b0}}, 1'b1} << SH1) - 1'b1;

  genvar p, k, g;
  generate
    for (p = 0; p < PE; p = p + 1) begin : g_lane
      localparam integer LANE = CHANNELS > 1 ? p : 0;
      wire [WI-1:0] code = s_axis_tdata[p*WI +: WI];
      // This lane's M / B: each bit a GROUPS-entry constant column read at the group counter (a narrow
      // mux; channel = group*PE + p only ever appears in constant indices; common/table_bits.vh).
      wire [MW-1:0] m_c;
      wire [BW-1:0] b_c;
      if (GROUPS == 1) begin : g_one
        assign m_c = MULS[LANE*MW +: MW];
        assign b_c = BIASES[LANE*BW +: BW];
      end else begin : g_groups
        `KILN_TABLE_BITS(g_mbit, k, g, MW, m_c[k], MULS[(g*PE + p)*MW + k])
        `KILN_TABLE_BITS(g_bbit, k, g, BW, b_c[k], BIASES[(g*PE + p)*BW + k])
      end

      wire signed [XW-1:0] x;
      if (IN_KIND == 2) begin : g_bipolar
        assign x = {~code[0], 1'b1};
      end else if (IN_KIND == 1) begin : g_signed
        assign x = code;
      end else begin : g_unsigned
        assign x = {1'b0, code};
      end
      wire signed [XW+MW-1:0] xm = x * $signed(m_c); // signed XW x MW multiply
      wire [EW:0] xm_ext = {{(EW - XW - MW + 1){xm[XW+MW-1]}}, xm};
      wire unused_xm = &{1'b0, xm_ext[EW:PW]};
      // Continuous assigns, not an always @* block: Verilator folds the clamp into the output
      // register's load, so it runs only in cycles that take a beat.
      wire [PW-1:0] b = {{(PW - BW){b_c[BW-1]}}, b_c};
      wire [PW-1:0] prod = xm_ext[PW-1:0] + b;
      wire [PW-1:0] rnd = HALF_EVEN == 1 ? prod + HALF_M1 + {{(PW-1){1'b0}}, prod[SB]} : prod;
      wire [PW-1:0] q = $signed(rnd) >>> SHIFT;
      wire [OUT_W-1:0] y = $signed(q) < $signed(OUT_LO) ? OUT_LO[OUT_W-1:0]
                         : $signed(q) > $signed(OUT_HI) ? OUT_HI[OUT_W-1:0] : q[OUT_W-1:0];
      assign y_beat[p*OUT_W +: OUT_W] = y;
    end
  endgenerate
endmodule
`default_nettype wire
