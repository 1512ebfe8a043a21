`default_nettype none
// Sparse matrix-vector unit: the folded MVU (mvu.v) that skips all-zero SIMD groups.
// y[r] = sum_c W[r][c] * x[c] for one COLS-element vector per inference (the row count is
// implied by STEPS and the ROMs, so it is no parameter).
//
// A group is SIMD consecutive inputs x PE rows of one row fold (one dense ROM word). A group can be
// skipped only when all PE*SIMD of its weights are zero. Per row fold, the unit runs one step per
// nonzero group, or a single step with zero weights when the whole fold is zero (its output beat
// must still leave), so one vector takes STEPS = sum over row folds of max(1, nonzero groups) cycles.
// The input vector is double-buffered (two banks of SF beats) as in mvu.v, so a vector costs
// max(STEPS, SF) cycles in steady state: the next one loads while the current one is computed.
//
// Two ROMs of STEPS words, read synchronously at the next step address:
//   WEIGHT_FILE  the group's PE*SIMD weights, lane (p, s) at bits [(p*SIMD+s)*WW +: WW] (as mvu.v)
//   INDEX_FILE   {last, idx}: idx = the group's column fold (which buffered input beat to read),
//                last = this is the row fold's final step (its output beat is produced).
// The buffered input is read combinationally by idx: a vector's first step may need its last beat,
// which is written in the cycle just before.
//
// Element codes and products as mvu.v, without its XNOR mode (bipolar weights are never zero):
// KIND 0 unsigned, 1 signed, 2 bipolar (inputs only), 3 ternary weights (add/sub/skip).
module mvu_sparse #(
  parameter integer COLS = 4,
  parameter integer PE = 2,
  parameter integer SIMD = 2,
  parameter integer WI = 4,
  parameter integer WW = 4,
  parameter integer OUT_W = 12,
  parameter integer ACC_W = 13,
  parameter integer IN_KIND = 1,
  parameter integer W_KIND = 1,
  parameter integer STEPS = 4,
  parameter WEIGHT_FILE = "weights.mem",
  parameter INDEX_FILE = "index.mem"
) (
  input  wire                  clk,
  input  wire                  rst_n,
  input  wire [SIMD*WI-1:0]    s_axis_tdata,
  input  wire                  s_axis_tvalid,
  output wire                  s_axis_tready,
  output wire [PE*OUT_W-1:0]   m_axis_tdata,
  output wire                  m_axis_tvalid,
  input  wire                  m_axis_tready
);
  localparam integer SF = COLS / SIMD;
  localparam integer SFW = SF > 1 ? $clog2(SF) : 1;
  localparam integer AW = STEPS > 1 ? $clog2(STEPS) : 1;
  localparam [SFW-1:0] SF_LAST = SF[SFW-1:0] - 1'b1;
  localparam [AW-1:0] A_LAST = STEPS[AW-1:0] - 1'b1;

  // ---- input double buffer: bank b, beat i at index {b, i} ----
  reg [SIMD*WI-1:0] buf_q [0:(2 << SFW) - 1];
  reg [1:0] full_q;
  reg wr_bank_q, rd_bank_q;
  reg [SFW-1:0] wr_idx_q;
  reg [AW-1:0] addr_q;
  reg first_q;
  reg out_valid_q;

  wire wr_last = wr_idx_q == SF_LAST;
  wire wr_en = s_axis_tvalid && s_axis_tready;
  assign s_axis_tready = !full_q[wr_bank_q];

  always @(posedge clk) begin
    if (wr_en) buf_q[{wr_bank_q, wr_idx_q}] <= s_axis_tdata;
  end

  // ---- step ROMs (registered at the next address, so they hold the current step's entry) ----
  wire fold_last;
  wire [SFW-1:0] idx;
  wire step;
  wire step_last = addr_q == A_LAST;
  wire [AW-1:0] addr_next = !rst_n ? {AW{1'b0}} : !step ? addr_q : step_last ? {AW{1'b0}} : addr_q + 1'b1;
  always @(posedge clk) addr_q <= addr_next;

  reg [PE*SIMD*WW-1:0] w_rom [0:STEPS-1];
  reg [SFW:0] i_rom [0:STEPS-1];
  initial $readmemh(WEIGHT_FILE, w_rom);
  initial $readmemh(INDEX_FILE, i_rom);
  reg [PE*SIMD*WW-1:0] w_q;
  reg [SFW:0] i_q;
  always @(posedge clk) begin
    w_q <= w_rom[addr_next];
    i_q <= i_rom[addr_next];
  end
  assign {fold_last, idx} = i_q;

  // One step per cycle while a full bank is waiting, unless a row fold's last step would overwrite
  // an output beat that cannot leave this cycle.
  assign step = full_q[rd_bank_q] && (!fold_last || !out_valid_q || m_axis_tready);
  wire vec_done = step && step_last;

  always @(posedge clk) begin
    if (!rst_n) begin
      full_q <= 2'b00;
      wr_bank_q <= 1'b0;
      rd_bank_q <= 1'b0;
      wr_idx_q <= {SFW{1'b0}};
      first_q <= 1'b1;
      out_valid_q <= 1'b0;
    end else begin
      // Writer and reader never touch the same bank's flag in one cycle (as in mvu.v).
      if (wr_en) begin
        wr_idx_q <= wr_last ? {SFW{1'b0}} : wr_idx_q + 1'b1;
        if (wr_last) begin
          full_q[wr_bank_q] <= 1'b1;
          wr_bank_q <= !wr_bank_q;
        end
      end
      if (step) begin
        first_q <= fold_last;
        if (vec_done) begin
          full_q[rd_bank_q] <= 1'b0;
          rd_bank_q <= !rd_bank_q;
        end
      end
      if (step && fold_last) out_valid_q <= 1'b1;
      else if (m_axis_tready) out_valid_q <= 1'b0;
    end
  end
  assign m_axis_tvalid = out_valid_q;

  wire [SIMD*WI-1:0] x_word = buf_q[{rd_bank_q, idx}];

  // x_value, w_value (a code's value in ACC_W bits) and term (one lane's w*x), as mvu.v without
  // bipolar weights.
`define KILN_CV_NO_BIPOLAR_W
  `include "code_values.vh"

  genvar p;
  generate
    for (p = 0; p < PE; p = p + 1) begin : g_pe
      reg [ACC_W-1:0] dot;
      integer s;
      always @* begin
        dot = {ACC_W{1'b0}};
        for (s = 0; s < SIMD; s = s + 1) dot = dot + term(w_q[(p*SIMD+s)*WW +: WW], x_word[s*WI +: WI]);
      end

      reg [ACC_W-1:0] acc_q;
      reg [OUT_W-1:0] out_q;
      wire [ACC_W-1:0] sum = (first_q ? {ACC_W{1'b0}} : acc_q) + dot;
      always @(posedge clk) begin
        if (step) acc_q <= sum;
        if (step && fold_last) out_q <= sum[OUT_W-1:0];
      end
      assign m_axis_tdata[p*OUT_W +: OUT_W] = out_q;
      wire unused_sum = &{1'b0, sum[ACC_W-1:OUT_W]};
    end
  endgenerate
endmodule
`default_nettype wire
