`default_nettype none
// Searching multi-threshold activation (the Threshold layer's 'search' form), PE elements per beat:
// y = OUT_BIAS + OUT_SCALE * n, n = #{ i : x >= T[c][i] } for element e of channel c = e mod CHANNELS,
// the same function as threshold.v, found by a pipelined binary search instead of STEPS comparators.
// With the thresholds padded to 2^STAGES - 1 (the extra ones never reached), stage k decides bit
// STAGES-1-k of n with one comparison against its table's entry {group, bits found so far}:
// stage k holds 2^k thresholds per channel, entry j = T[c][(2j+1) * 2^(STAGES-1-k) - 1].
// Tables: one ROM per lane and stage, read synchronously one stage ahead (the address is the previous
// stage's bits and its comparison), from $readmemh files
// TABLE_PREFIX_s<k>_p<lane>.mem (k: 2 digits, lane: 3 digits; lane 0 only per-tensor), word
// g * 2^k + j = the entry j of channel g*PE + lane (TW-bit two's complement). Yosys keeps a small ROM
// in logic and puts a big one in block RAM.
// Codes (IN_KIND / OUT_KIND): 0 unsigned, 1 signed, 2 bipolar (1 = +1, 0 = -1).
// Pipeline: STAGES stage registers and the output register (common/out_reg.v), all advancing when the
// output register can take a beat: one beat per cycle under back-pressure, latency STAGES + 1 cycles.
module threshold_search #(
  parameter integer CHANNELS = 4,
  parameter integer PE = 1,
  parameter integer WI = 4,
  parameter integer IN_KIND = 1,
  parameter integer TW = 5,
  parameter integer STAGES = 1,
  parameter TABLE_PREFIX = "thresholds",
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
  localparam integer NW = STAGES; // n in 0 .. 2^STAGES - 1 (at most STEPS: padding is never passed)

  // Bipolar output: POSITIVE[n] = (OUT_BIAS + OUT_SCALE*n > 0), a lookup at the narrow count.
  function [(1 << NW)-1:0] positive_counts(input integer unused);
    integer c;
    begin
      for (c = 0; c < (1 << NW); c = c + 1) positive_counts[c] = OUT_BIAS + OUT_SCALE * c > 0;
    end
  endfunction
  localparam [(1 << NW)-1:0] POSITIVE = positive_counts(0);

  // "_s<kk>_p<lll>.mem" of stage k, lane p.
  /* verilator lint_off UNUSEDSIGNAL */ // a digit's integer: only its low byte is a character
  function [7:0] digit(input integer v); // v in 0..9
    integer c;
    begin
      c = 48 + v;
      digit = c[7:0];
    end
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */
  function [8*13-1:0] table_suffix(input integer k, input integer p);
    table_suffix = {"_s", digit(k / 10), digit(k % 10), "_p", digit(p / 100), digit((p / 10) % 10), digit(p % 10), ".mem"};
  endfunction

  // adv: every stage moves one place on (the output register takes the last stage's beat).
  wire adv;
  wire last_valid;
  wire [PE*OUT_W-1:0] y_beat;
  out_reg #(.W(PE*OUT_W)) u_out (
    .clk(clk), .rst_n(rst_n),
    .s_axis_tdata(y_beat), .s_axis_tvalid(last_valid), .s_axis_tready(adv),
    .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
  );
  assign s_axis_tready = adv;
  wire take = s_axis_tvalid && adv;

  // Channel group of the beat at the input (the next one taken).
  reg [GW-1:0] group_q;
  always @(posedge clk) begin
    if (!rst_n) group_q <= {GW{1'b0}};
    else if (take) group_q <= group_q == G_LAST ? {GW{1'b0}} : group_q + 1'b1;
  end

  // Per stage: valid and the beat's channel group (shared by the lanes).
  reg [STAGES-1:0] valid_q;
  wire [STAGES:0] valid_shifted = {valid_q, s_axis_tvalid};
  reg [GW-1:0] stage_group_q [0:STAGES-1];
  integer s;
  always @(posedge clk) begin
    if (!rst_n) valid_q <= {STAGES{1'b0}};
    else if (adv) valid_q <= valid_shifted[STAGES-1:0];
  end
  always @(posedge clk) begin
    if (adv) begin
      stage_group_q[0] <= group_q;
      for (s = 1; s < STAGES; s = s + 1) stage_group_q[s] <= stage_group_q[s-1];
    end
  end
  assign last_valid = valid_q[STAGES-1];
  wire unused_valid = &{1'b0, valid_shifted[STAGES]};
  wire unused_group = &{1'b0, stage_group_q[STAGES-1]};

  genvar p, k;
  generate
    for (p = 0; p < PE; p = p + 1) begin : g_lane
      localparam integer LANE = CHANNELS > 1 ? p : 0;
      wire [WI-1:0] code = s_axis_tdata[p*WI +: WI];
      wire [TW-1:0] x_in = IN_KIND == 2 ? {{(TW - 1){~code[0]}}, 1'b1}
                         : IN_KIND == 1 ? {{(TW - WI){code[WI-1]}}, code}
                         : {{(TW - WI){1'b0}}, code};
      // Stage k: the input, and the k bits of n found so far (MSB first: stage 0's decision on top).
      reg [TW-1:0] x_q [0:STAGES-1];
      reg [NW-1:0] bits_q [0:STAGES-1];
      wire [STAGES-1:0] pass;
      for (k = 0; k < STAGES; k = k + 1) begin : g_stage
        localparam integer DEPTH = GROUPS << k;
        localparam integer AW = DEPTH > 1 ? $clog2(DEPTH) : 1;
        reg [TW-1:0] rom [0:DEPTH-1];
        initial $readmemh({TABLE_PREFIX, table_suffix(k, LANE)}, rom);
        reg [TW-1:0] t_q;
        // Entry {group, bits so far} of the beat entering this stage.
        wire [AW-1:0] addr;
        if (k == 0) begin : g_first
          assign addr = GROUPS > 1 ? group_q : {AW{1'b0}};
          always @(posedge clk) if (adv) x_q[0] <= x_in;
          always @(posedge clk) if (adv) bits_q[0] <= {NW{1'b0}};
        end else begin : g_next
          wire [NW-1:0] found = {bits_q[k-1][NW-2:0], pass[k-1]};
          if (GROUPS > 1) begin : g_grouped
            assign addr = {stage_group_q[k-1], found[k-1:0]};
          end else begin : g_single
            assign addr = found[k-1:0];
          end
          always @(posedge clk) if (adv) x_q[k] <= x_q[k-1];
          always @(posedge clk) if (adv) bits_q[k] <= found;
          wire unused_found = &{1'b0, found};
        end
        always @(posedge clk) if (adv) t_q <= rom[addr];
        assign pass[k] = $signed(x_q[k]) >= $signed(t_q);
      end
      wire [NW-1:0] n;
      if (STAGES > 1) begin : g_n
        assign n = {bits_q[STAGES-1][NW-2:0], pass[STAGES-1]};
        wire unused_top = &{1'b0, bits_q[STAGES-1][NW-1]};
      end else begin : g_n1
        assign n = pass[0];
        wire unused_bits = &{1'b0, bits_q[0]};
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
