`default_nettype none
// Channel concatenation of two NHWC streams (FINN StreamingConcat), PE channels per beat: for each
// pixel, the CA channels of input 0 (CFA = CA/PE beats), then the CB channels of input 1 (CFB beats).
// Codes are re-encoded to the output type (A_PASS / B_PASS = 1: same coding, copy the bits; else
// extend the value as A_KIND / B_KIND say: 0 unsigned, 1 signed, 2 bipolar). One output register,
// one beat per cycle: (CFA + CFB) cycles per pixel.
module concat #(
  parameter integer CA = 1,
  parameter integer CB = 1,
  parameter integer PE = 1,
  parameter integer WA = 4,
  parameter integer A_KIND = 1,
  parameter integer A_PASS = 1,
  parameter integer WB = 4,
  parameter integer B_KIND = 1,
  parameter integer B_PASS = 1,
  parameter integer OUT_W = 4
) (
  input  wire                clk,
  input  wire                rst_n,
  input  wire [PE*WA-1:0]    s0_axis_tdata,
  input  wire                s0_axis_tvalid,
  output wire                s0_axis_tready,
  input  wire [PE*WB-1:0]    s1_axis_tdata,
  input  wire                s1_axis_tvalid,
  output wire                s1_axis_tready,
  output wire [PE*OUT_W-1:0] m_axis_tdata,
  output wire                m_axis_tvalid,
  input  wire                m_axis_tready
);
  localparam integer CFA = CA / PE;
  localparam integer BEATS = (CA + CB) / PE;
  localparam integer BW = $clog2(BEATS + 1);
  localparam [BW-1:0] B_LAST = BEATS[BW-1:0] - 1'b1;
  localparam [BW-1:0] A_BEATS = CFA[BW-1:0];

  reg [BW-1:0] beat_q;
  reg valid_q;
  reg [PE*OUT_W-1:0] data_q;
  wire from_a = beat_q < A_BEATS;
  wire out_free = !valid_q || m_axis_tready;
  assign s0_axis_tready = out_free && from_a;
  assign s1_axis_tready = out_free && !from_a;
  wire fire = out_free && (from_a ? s0_axis_tvalid : s1_axis_tvalid);

  function [OUT_W-1:0] a_code(input [WA-1:0] code);
    if (A_PASS != 0) a_code = {{(OUT_W - WA){1'b0}}, code};
    else if (A_KIND == 2) a_code = {{(OUT_W - 1){~code[0]}}, 1'b1};
    else if (A_KIND == 1) a_code = {{(OUT_W - WA){code[WA-1]}}, code};
    else a_code = {{(OUT_W - WA){1'b0}}, code};
  endfunction
  function [OUT_W-1:0] b_code(input [WB-1:0] code);
    if (B_PASS != 0) b_code = {{(OUT_W - WB){1'b0}}, code};
    else if (B_KIND == 2) b_code = {{(OUT_W - 1){~code[0]}}, 1'b1};
    else if (B_KIND == 1) b_code = {{(OUT_W - WB){code[WB-1]}}, code};
    else b_code = {{(OUT_W - WB){1'b0}}, code};
  endfunction

  genvar p;
  generate
    for (p = 0; p < PE; p = p + 1) begin : g_lane
      always @(posedge clk) begin
        if (fire) data_q[p*OUT_W +: OUT_W] <= from_a ? a_code(s0_axis_tdata[p*WA +: WA]) : b_code(s1_axis_tdata[p*WB +: WB]);
      end
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      beat_q <= {BW{1'b0}};
      valid_q <= 1'b0;
    end else begin
      if (fire) beat_q <= beat_q == B_LAST ? {BW{1'b0}} : beat_q + 1'b1;
      if (fire) valid_q <= 1'b1;
      else if (m_axis_tready) valid_q <= 1'b0;
    end
  end
  assign m_axis_tdata = data_q;
  assign m_axis_tvalid = valid_q;
endmodule
`default_nettype wire
