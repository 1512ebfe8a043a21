`default_nettype none
// Element-wise sum of two streams (FINN AddStreams), PE elements per beat: y = a + b, exact (OUT_W,
// chosen by src/layers/add-streams.ts, holds every sum). A beat is taken from both inputs at once,
// when both are valid and the output register is free: one beat per cycle.
// Codes (A_KIND / B_KIND / OUT_KIND): 0 unsigned, 1 signed, 2 bipolar (1 = +1, 0 = -1).
module add_streams #(
  parameter integer PE = 1,
  parameter integer WA = 4,
  parameter integer A_KIND = 1,
  parameter integer WB = 4,
  parameter integer B_KIND = 1,
  parameter integer OUT_W = 5
) (
  input  wire              clk,
  input  wire              rst_n,
  input  wire [PE*WA-1:0]  s0_axis_tdata,
  input  wire              s0_axis_tvalid,
  output wire              s0_axis_tready,
  input  wire [PE*WB-1:0]  s1_axis_tdata,
  input  wire              s1_axis_tvalid,
  output wire              s1_axis_tready,
  output wire [PE*OUT_W-1:0] m_axis_tdata,
  output wire              m_axis_tvalid,
  input  wire              m_axis_tready
);
  reg valid_q;
  reg [PE*OUT_W-1:0] data_q;
  wire out_free = !valid_q || m_axis_tready;
  assign s0_axis_tready = s1_axis_tvalid && out_free;
  assign s1_axis_tready = s0_axis_tvalid && out_free;
  wire take = s0_axis_tvalid && s1_axis_tvalid && out_free;

  // Value of a code as an OUT_W-bit two's complement number.
  function [OUT_W-1:0] a_value(input [WA-1:0] code);
    if (A_KIND == 2) a_value = {{(OUT_W - 1){~code[0]}}, 1'b1};
    else if (A_KIND == 1) a_value = {{(OUT_W - WA){code[WA-1]}}, code};
    else a_value = {{(OUT_W - WA){1'b0}}, code};
  endfunction
  function [OUT_W-1:0] b_value(input [WB-1:0] code);
    if (B_KIND == 2) b_value = {{(OUT_W - 1){~code[0]}}, 1'b1};
    else if (B_KIND == 1) b_value = {{(OUT_W - WB){code[WB-1]}}, code};
    else b_value = {{(OUT_W - WB){1'b0}}, code};
  endfunction

  genvar p;
  generate
    for (p = 0; p < PE; p = p + 1) begin : g_lane
      always @(posedge clk) begin
        if (take) data_q[p*OUT_W +: OUT_W] <= a_value(s0_axis_tdata[p*WA +: WA]) + b_value(s1_axis_tdata[p*WB +: WB]);
      end
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) valid_q <= 1'b0;
    else if (take) valid_q <= 1'b1;
    else if (m_axis_tready) valid_q <= 1'b0;
  end
  assign m_axis_tdata = data_q;
  assign m_axis_tvalid = valid_q;
endmodule
`default_nettype wire
