`default_nettype none
// Multi-threshold activation, PE elements per beat: for element e of channel c = e mod CHANNELS,
// y = OUT_BIAS + OUT_SCALE * #{ i : x >= T[c][i] } (all STEPS comparisons of a lane in parallel).
// Thresholds come in one word per channel group g (GROUPS = CHANNELS/PE, or 1 per-tensor): lane p,
// step i at bits [(p*STEPS+i)*TW +: TW] holds T[g*PE+p][i] (TW-bit two's complement, TW > WI; per-tensor
// words have a single lane). Small tables are the THRESHOLDS parameter (word g at [g*WORD +: WORD],
// constant-propagated when GROUPS == 1); big ones (USE_ROM = 1) a ROM read from THRESHOLD_FILE with
// $readmemh (path relative to the simulator's working directory = the output dir).
// Codes (IN_KIND / OUT_KIND): 0 unsigned, 1 signed, 2 bipolar (1 = +1, 0 = -1).
// One output register (common/out_reg.v): full throughput (1 beat/cycle), ELEMS/PE cycles per inference.
`include "table_bits.vh"
module threshold #(
  parameter integer CHANNELS = 4,
  parameter integer STEPS = 1,
  parameter integer PE = 1,
  parameter integer WI = 4,
  parameter integer IN_KIND = 1,
  parameter integer TW = 5,
  parameter integer USE_ROM = 0,
  parameter [(USE_ROM != 0 ? 1 : CHANNELS*STEPS*TW)-1:0] THRESHOLDS = 0,
  parameter THRESHOLD_FILE = "thresholds.mem",
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
  // Channel groups of PE lanes (CHANNELS == 1: every element uses channel 0).
  localparam integer GROUPS = CHANNELS > 1 ? CHANNELS / PE : 1;
  localparam integer GW = GROUPS > 1 ? $clog2(GROUPS) : 1;
  localparam [GW-1:0] G_LAST = GROUPS[GW-1:0] - 1'b1;
  // Comparisons run at TW bits: src/layers/threshold.ts makes TW hold the whole input range (TW > WI),
  // so inputs are extended once per lane and thresholds are used as stored.
  localparam integer CW = TW;
  localparam integer LANES = CHANNELS > 1 ? PE : 1;
  localparam integer WORD = LANES * STEPS * TW;

  // Bipolar output: POSITIVE[n] = (OUT_BIAS + OUT_SCALE*n > 0) for n = 0..STEPS steps passed, so the
  // output is a lookup at the narrow count rather than a 32-bit compare.
  localparam integer NW = $clog2(STEPS + 1);
  function [STEPS:0] positive_counts(input integer steps);
    integer c;
    begin
      for (c = 0; c <= steps; c = c + 1) positive_counts[c] = OUT_BIAS + OUT_SCALE * c > 0;
    end
  endfunction
  localparam [STEPS:0] POSITIVE = positive_counts(STEPS);

  reg [GW-1:0] group_q;
  wire [PE*OUT_W-1:0] y_beat; // this beat's outputs, into the output register
  wire take = s_axis_tvalid && s_axis_tready;

  out_reg #(.W(PE*OUT_W)) u_out (
    .clk(clk), .rst_n(rst_n),
    .s_axis_tdata(y_beat), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
    .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
  );

  // Channel group of the beat accepted this cycle; the ROM (synchronous read) reads at the next one.
  wire [GW-1:0] group_next = !rst_n ? {GW{1'b0}} : !take ? group_q : group_q == G_LAST ? {GW{1'b0}} : group_q + 1'b1;
  always @(posedge clk) group_q <= group_next;

  // This group's thresholds.
  wire [WORD-1:0] t_word;
  generate
    if (USE_ROM != 0) begin : g_rom
      reg [WORD-1:0] rom [0:GROUPS-1];
      initial $readmemh(THRESHOLD_FILE, rom);
      reg [WORD-1:0] t_q;
      always @(posedge clk) t_q <= rom[group_next];
      assign t_word = t_q;
      wire unused_param = &{1'b0, THRESHOLDS};
    end else if (GROUPS == 1) begin : g_const
      assign t_word = THRESHOLDS[WORD-1:0];
      wire unused_group = &{1'b0, group_q};
    end else begin : g_param
      // Each bit of the word is a GROUPS-entry constant column read at the group counter: a narrow
      // mux per bit rather than a shifter over the whole table (common/table_bits.vh).
      // Nested per lane, step and bit: one flat loop over WORD bits can pass Verilator's unroll
      // limit (1024 iterations; e.g. 255 steps x 21 bits).
      genvar q, st, b, g;
      for (q = 0; q < LANES; q = q + 1) begin : g_tlane
        for (st = 0; st < STEPS; st = st + 1) begin : g_step
          `KILN_TABLE_BITS(g_bit, b, g, TW, t_word[(q*STEPS + st)*TW + b], THRESHOLDS[g*WORD + (q*STEPS + st)*TW + b])
        end
      end
    end
  endgenerate

  genvar p;
  generate
    for (p = 0; p < PE; p = p + 1) begin : g_lane
      localparam integer LANE = CHANNELS > 1 ? p : 0;
      wire [WI-1:0] code = s_axis_tdata[p*WI +: WI];
      reg [CW-1:0] x;
      integer i, n;
      always @* begin
        if (IN_KIND == 2) x = {{(CW - 1){~code[0]}}, 1'b1};
        else if (IN_KIND == 1) x = {{(CW - WI){code[WI-1]}}, code};
        else x = {{(CW - WI){1'b0}}, code};
        n = 0;
        for (i = 0; i < STEPS; i = i + 1) begin
          if ($signed(x) >= $signed(t_word[(LANE*STEPS+i)*TW +: TW])) n = n + 1;
        end
      end
      wire [OUT_W-1:0] y_code;
      if (OUT_KIND == 2) begin : g_bipolar
        assign y_code = {{(OUT_W - 1){1'b0}}, POSITIVE[n[NW-1:0]]};
        wire unused_n = &{1'b0, n};
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
